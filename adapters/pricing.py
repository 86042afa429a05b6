"""The Pricing & Margin bolt-on (pricing.openapi.yaml), reached over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from adapters.errors import BackendError, BackendUnavailable
from adapters.http import HttpBackend, chunks
from adapters.parsing import MalformedResponse, decimal, items, utc_datetime
from adapters.records import PriceRecord, QuoteLineRecord, QuoteRecord

#: The contract's limit of SKUs per GET /v1/prices.
PRICES_BATCH = 100


class PricingAdapter(HttpBackend):
    """Prices per SKU and quotes per basket.

    Example:
        >>> async with PricingAdapter("http://127.0.0.1:8101", token="t") as pricing:
        ...     [price] = await pricing.prices(["SKU-00042"], "USD")
    """

    def __init__(self, base_url: str, *, token: str | None, **options: Any) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        super().__init__("pricing", base_url, headers=headers, **options)

    async def prices(self, skus: Sequence[str], currency: str = "USD") -> list[PriceRecord | None]:
        """Current prices, one per SKU in input order, ``None`` for an unpriced SKU.

        Distinct SKUs are fetched in chunks of 100, the chunks concurrently.
        """
        distinct = list(dict.fromkeys(skus))
        found: dict[str, PriceRecord] = {}
        for page in await asyncio.gather(
            *(self._price_page(chunk, currency) for chunk in chunks(distinct, PRICES_BATCH))
        ):
            found.update(page)
        return [found.get(sku) for sku in skus]

    async def _price_page(self, skus: list[str], currency: str) -> dict[str, PriceRecord]:
        body = await self.request(
            "GET", "/v1/prices", params={"sku": skus, "currency": currency}, operation="listPrices"
        )
        try:
            return {item["sku"]: _price(item) for item in items(body)}
        except (KeyError, TypeError, MalformedResponse) as exc:
            raise BackendUnavailable(self.service, "malformed prices") from exc

    async def probe(self) -> None:
        """A cheap authenticated call: raises when Pricing is down or refuses our token.

        One attempt, outside the breaker and the bulkhead (``/readyz``, ``gateway check``).
        """
        await self.request(
            "GET",
            "/v1/prices",
            params={"sku": ["__probe__"]},
            operation="listPrices",
            resilient=False,
        )

    async def quote(
        self, customer_account: str, currency: str, lines: Sequence[tuple[str, int]]
    ) -> QuoteRecord:
        """Price a basket for a customer (every call is a new quote)."""
        body = await self.request(
            "POST",
            "/v1/quotes",
            operation="createQuote",
            json={
                "customer_account": customer_account,
                "currency": currency,
                "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines],
            },
        )
        try:
            return QuoteRecord(
                quote_id=str(body["quote_id"]),
                customer_account=str(body["customer_account"]),
                currency=str(body["currency"]),
                lines=tuple(
                    QuoteLineRecord(
                        sku=str(line["sku"]),
                        quantity=int(line["quantity"]),
                        unit_price=decimal(line["unit_price"]),
                        discount_pct=decimal(line["discount_pct"]),
                    )
                    for line in body["lines"]
                ),
                total=decimal(body["total"]),
                expires_at=utc_datetime(body["expires_at"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BackendUnavailable(self.service, "malformed quote") from exc


def _price(item: dict[str, Any]) -> PriceRecord:
    return PriceRecord(
        sku=str(item["sku"]),
        currency=str(item["currency"]),
        list_price=decimal(item["list_price"]),
        floor_price=decimal(item["floor_price"]),
        target_margin_pct=decimal(item["target_margin_pct"]),
        valid_until=utc_datetime(item["valid_until"]),
    )


__all__ = ["PRICES_BATCH", "BackendError", "PricingAdapter"]
