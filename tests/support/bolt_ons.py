"""Bolt-on adapters and backend settings aimed at the test simulators (fast retries)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from adapters.crm import CrmAdapter
from adapters.pricing import PricingAdapter
from adapters.resilience import Bulkhead, CircuitBreaker, Resilience, RetryPolicy
from adapters.shipping import ShippingAdapter
from gateway.settings import Settings
from simulators.runner import Simulators
from tests.support.simulators import CRM_API_KEY, PRICING_TOKEN, SHIPPING_TOKEN

#: Fast retries, so a test of three attempts takes milliseconds.
FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.005, max_retry_after=2.0)


def resilience(
    service: str,
    *,
    retry: RetryPolicy = FAST_RETRY,
    breaker: CircuitBreaker | None = None,
    bulkhead: Bulkhead | None = None,
    total_timeout: float = 2.0,
) -> Resilience:
    return Resilience(
        service, retry=retry, breaker=breaker, bulkhead=bulkhead, total_timeout=total_timeout
    )


def pricing(sims: Simulators, res: Resilience | None = None, **options: Any) -> PricingAdapter:
    return PricingAdapter(
        sims.pricing.url, token=PRICING_TOKEN, resilience=res or resilience("pricing"), **options
    )


def crm(sims: Simulators, res: Resilience | None = None, **options: Any) -> CrmAdapter:
    return CrmAdapter(
        sims.crm.url, api_key=CRM_API_KEY, resilience=res or resilience("crm"), **options
    )


def shipping(sims: Simulators, res: Resilience | None = None, **options: Any) -> ShippingAdapter:
    return ShippingAdapter(
        sims.shipping.url,
        token=SHIPPING_TOKEN,
        resilience=res or resilience("shipping"),
        **options,
    )


def backend_settings(tmp_path: Path, sims: Simulators, **overrides: Any) -> Settings:
    """Settings aimed at the simulators, with an (empty) SQLite core in ``tmp_path``."""
    values: dict[str, Any] = {
        "core_database_url": f"sqlite+aiosqlite:///{tmp_path / 'core.db'}",
        "pricing_url": sims.pricing.url,
        "pricing_token": PRICING_TOKEN,
        "crm_url": sims.crm.url,
        "crm_api_key": CRM_API_KEY,
        "shipping_url": sims.shipping.url,
        "shipping_token": SHIPPING_TOKEN,
        "retry_base_delay": 0.001,
        "retry_max_delay": 0.005,
        **overrides,
    }
    return Settings(**values)


class CountingTransport(httpx.AsyncBaseTransport):
    """A real HTTP transport that counts the requests it sends (connect failures included)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.sent = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()
