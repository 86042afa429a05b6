"""The set of adapters one gateway process talks to, opened and closed together."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from adapters.core import CoreAdapter
from adapters.crm import CrmAdapter
from adapters.pricing import PricingAdapter
from adapters.shipping import ShippingAdapter
from gateway.settings import Settings


def _secret(value: object) -> str | None:
    getter = getattr(value, "get_secret_value", None)
    return getter() if getter is not None else None


@dataclass
class Backends:
    """The adapters of the core and the bolt-ons, entered on one exit stack.

    Example:
        >>> async with Backends.from_settings(settings) as backends:
        ...     await backends.core.ping()
    """

    core: CoreAdapter
    pricing: PricingAdapter
    crm: CrmAdapter
    shipping: ShippingAdapter

    def __post_init__(self) -> None:
        self._stack = AsyncExitStack()

    @classmethod
    def from_settings(cls, settings: Settings) -> Backends:
        pool = settings.http_max_connections
        return cls(
            core=CoreAdapter(
                settings.core_database_url,
                pool_size=settings.core_pool_size,
                statement_timeout=settings.core_statement_timeout,
            ),
            pricing=PricingAdapter(
                settings.pricing_url,
                token=_secret(settings.pricing_token),
                timeout=settings.pricing_timeout,
                max_connections=pool,
            ),
            crm=CrmAdapter(
                settings.crm_url,
                api_key=_secret(settings.crm_api_key),
                concurrency=settings.crm_concurrency,
                timeout=settings.crm_timeout,
                max_connections=max(pool, settings.crm_concurrency),
            ),
            shipping=ShippingAdapter(
                settings.shipping_url,
                token=_secret(settings.shipping_token),
                timeout=settings.shipping_timeout,
                max_connections=pool,
            ),
        )

    async def __aenter__(self) -> Self:
        for adapter in (self.core, self.pricing, self.crm, self.shipping):
            await self._stack.enter_async_context(adapter)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._stack.aclose()
