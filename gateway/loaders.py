"""Per-request DataLoaders: every relation level becomes one batched backend call.

Built fresh for each request (so nothing leaks between clients) from the
process-wide adapters. A batch function returns one value per key, in key
order; where one key failed alone (a CRM account) its slot holds the error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from adapters.errors import BackendError
from adapters.records import (
    ActivityRecord,
    CustomerRecord,
    InsightsRecord,
    InventoryRecord,
    OrderLineRecord,
    OrderRecord,
    Page,
    PriceRecord,
    ProductRecord,
    ShipmentRecord,
    TrackingEventRecord,
    WarehouseRecord,
)
from gateway.backends import Backends

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

OrdersKey = tuple[int, int, int | None, str | None]
"""(customer id, first, after id, status) of one customer's orders page."""


def _loader(fn: Callable[[list[K]], Awaitable[Sequence[Any]]]) -> DataLoader[K, Any]:
    async def load(keys: list[K]) -> list[Any]:
        return list(await fn(keys))

    return DataLoader(load_fn=load)


class Loaders:
    """The DataLoaders of one request.

    Example:
        >>> loaders = Loaders(backends)
        >>> customer = await loaders.customer_by_account.load("C-000042")
    """

    def __init__(self, backends: Backends) -> None:
        core, pricing, crm, shipping = (
            backends.core,
            backends.pricing,
            backends.crm,
            backends.shipping,
        )
        self.customer_by_id: DataLoader[int, CustomerRecord | None] = _loader(core.customers_by_id)
        self.customer_by_account: DataLoader[str, CustomerRecord | None] = _loader(
            core.customers_by_account
        )
        self.product_by_id: DataLoader[int, ProductRecord | None] = _loader(core.products_by_id)
        self.product_by_sku: DataLoader[str, ProductRecord | None] = _loader(core.products_by_sku)
        self.order_by_id: DataLoader[int, OrderRecord | None] = _loader(core.orders_by_id)
        self.order_by_number: DataLoader[str, OrderRecord | None] = _loader(core.orders_by_number)
        self.warehouse_by_id: DataLoader[int, WarehouseRecord | None] = _loader(
            core.warehouses_by_id
        )
        self.orders_of_customer: DataLoader[OrdersKey, Page[OrderRecord]] = _loader(
            core.orders_of_customers
        )
        self.order_count_of_customer: DataLoader[tuple[int, str | None], int] = _loader(
            core.count_orders_of_customers
        )
        self.lines_of_order: DataLoader[int, list[OrderLineRecord]] = _loader(core.lines_of_orders)
        self.inventory_of_product: DataLoader[int, list[InventoryRecord]] = _loader(
            core.inventory_of_products
        )
        self.open_balance: DataLoader[int, Decimal] = _loader(core.open_balances)

        async def prices(keys: list[tuple[str, str]]) -> list[PriceRecord | None]:
            # One batched call per currency; a query rarely mixes currencies.
            by_currency: dict[str, list[str]] = {}
            for sku, currency in keys:
                by_currency.setdefault(currency, []).append(sku)
            found: dict[tuple[str, str], PriceRecord | None] = {}
            for currency, skus in by_currency.items():
                for sku, price in zip(skus, await pricing.prices(skus, currency), strict=True):
                    found[(sku, currency)] = price
            return [found[key] for key in keys]

        self.price: DataLoader[tuple[str, str], PriceRecord | None] = _loader(prices)
        self.insights: DataLoader[str, InsightsRecord | None] = _loader(crm.insights)

        async def activities(keys: list[tuple[str, int]]) -> list[Any]:
            results = await asyncio.gather(
                *(crm.activities(account, limit) for account, limit in keys),
                return_exceptions=True,
            )
            return [_slot(result) for result in results]

        self.activities: DataLoader[tuple[str, int], list[ActivityRecord] | None] = _loader(
            activities
        )
        self.shipment: DataLoader[str, ShipmentRecord | None] = _loader(shipping.shipments)

        async def tracking(keys: list[str]) -> list[Any]:
            results = await asyncio.gather(
                *(shipping.tracking_events(key) for key in keys), return_exceptions=True
            )
            return [_slot(result) for result in results]

        self.tracking_events: DataLoader[str, list[TrackingEventRecord] | None] = _loader(tracking)


def _slot(result: object) -> object:
    """Keep a backend error in its key's slot; re-raise anything unexpected."""
    if isinstance(result, BaseException) and not isinstance(result, BackendError):
        raise result
    return result
