"""The Pricing & Margin bolt-on (``contracts/pricing.openapi.yaml``) as a plugin.

Code, not a declaration, because ``Price.marginPct`` is computed from the
core's unit cost and the bolt-on's list price, and the quote write has no
declared form. Its parts: the adapter (``adapters.pricing``), the simulator
(``simulators.pricing``), the ``Price`` type (``schema.product``).
"""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, SecretStr
from starlette.types import ASGIApp

from adapters.pricing import PricingAdapter
from adapters.records import PriceRecord
from gateway.caching.bolt_on import BoltOnCache, Operation, StaleSink
from gateway.security.clients import MARGINS_READ
from plugins.base import (
    BatchFunction,
    BoltOnPlugin,
    HasBoltOns,
    PluginLoader,
    adapter_of,
    cached_or_direct,
)

if TYPE_CHECKING:
    from simulators.common import SimulatorState

#: Prices per SKU and currency: cached, one batched call per currency.
PRICES: Operation[PriceRecord] = Operation("pricing", "listPrices", PriceRecord)


class PricingSettings(BaseModel):
    """Pricing bolt-on: where it is, its credential, its call budget."""

    pricing_url: str = Field(
        default="http://127.0.0.1:8101", description="Pricing bolt-on base URL."
    )
    pricing_token: SecretStr | None = Field(default=None, description="Pricing bearer token.")
    pricing_timeout: float = Field(default=2.0, gt=0, description="Pricing call budget, seconds.")


def pricing_of(backends: HasBoltOns) -> PricingAdapter:
    """The process's Pricing adapter (``placeOrder`` asks it for a quote)."""
    return adapter_of(backends, PLUGIN.name, PricingAdapter)


def _adapter(settings: Any, options: dict[str, Any]) -> PricingAdapter:
    return PricingAdapter(settings.pricing_url, token=PLUGIN.secret(settings), **options)


def _simulator(secret: str, *, seed: int, seeded_orders: int) -> tuple[ASGIApp, SimulatorState]:
    # The simulators are imported only when one is built: a gateway serves without them.
    from simulators.common import SimulatorState
    from simulators.pricing import create_pricing_app

    state = SimulatorState("pricing", seed=seed)
    return create_pricing_app(secret, state=state), state


def _prices(adapter: PricingAdapter, cache: BoltOnCache | None, stale: StaleSink) -> BatchFunction:
    """Keys are ``(sku, currency)``: one batched call per currency, currencies in parallel."""

    async def batch(keys: list[tuple[str, str]]) -> list[Any]:
        by_currency: dict[str, list[str]] = {}
        for sku, currency in keys:
            by_currency.setdefault(currency, []).append(sku)
        groups = list(by_currency.items())
        answers = await asyncio.gather(
            *(
                cached_or_direct(
                    cache,
                    PRICES,
                    skus,
                    functools.partial(_prices_in, adapter, currency),
                    stale,
                    variant=currency,
                )
                for currency, skus in groups
            )
        )
        found: dict[tuple[str, str], Any] = {}
        for (currency, skus), prices in zip(groups, answers, strict=True):
            for sku, price in zip(skus, prices, strict=True):
                found[(sku, currency)] = price
        return [found[key] for key in keys]

    return batch


async def _prices_in(
    adapter: PricingAdapter, currency: str, skus: list[str]
) -> list[PriceRecord | None]:
    return await adapter.prices(skus, currency)


PLUGIN = BoltOnPlugin(
    name="pricing",
    title="Pricing",
    contract="pricing.openapi.yaml",
    settings=PricingSettings,
    credential_setting="pricing_token",
    build_adapter=_adapter,
    build_simulator=_simulator,
    demo_port=8101,
    reads=(PRICES,),
    # Invalidations of prices always cover the default currency.
    variants={PRICES.label: frozenset({"USD"})},
    cache_ttl=60.0,
    costly_fields=frozenset({("Product", "price")}),
    field_scopes={("Price", "marginPct"): MARGINS_READ},
    loaders={"price": PluginLoader(PRICES.label, _prices, metric="prices")},
)
