"""Per-request DataLoaders: every relation level becomes one batched backend call.

Built fresh for each request (so nothing leaks between clients) from the
process-wide adapters. A batch function returns one value per key, in key
order; where one key failed alone (a CRM account) its slot holds the error.

Cheap by construction: a request pays only for the loaders it touches (each
is built on first use) and no closures are made per request: the core's
batch functions are the adapter's own bound methods.
Bolt-on reads go through the process's ``BoltOnCache`` when there is one,
which also shares concurrent identical misses across requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from strawberry.dataloader import DataLoader

from adapters import reads
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
from gateway.bolt_ons.declaration import FieldDeclaration
from gateway.bolt_ons.loading import load_batch, variant_of
from gateway.caching.bolt_on import INSIGHTS, PRICES, SHIPMENTS
from gateway.observability.metrics import MeasuredDataLoader

OrdersKey = tuple[int, int, int | None, str | None]
"""(customer id, first, after id, status) of one customer's orders page."""

#: Read marks (``adapters.reads``) of the bolt-on reads the bolt-on cache does not hold.
ACTIVITIES_LABEL = "crm.listAccountActivities"
TRACKING_LABEL = "shipping.listTrackingEvents"

#: ``extensions.stale`` of a response: bolt-on answers served from a last good value.
STALE_EXTENSION = "stale"


class Loaders:
    """The DataLoaders of one request.

    Args:
        backends: the process's adapters (and bolt-on cache).
        extensions: the response's ``extensions``; answers served stale are
            listed under ``stale`` as ``{service, operation, key}``.

    Example:
        >>> loaders = Loaders(backends)
        >>> customer = await loaders.customer_by_account.load("C-000042")
    """

    def __init__(self, backends: Backends, *, extensions: dict[str, object] | None = None) -> None:
        self._backends = backends
        self._extensions = extensions

    # The loaders; each is built on first use by ``__getattr__``. The core's:
    customer_by_id: DataLoader[int, CustomerRecord | None]
    customer_by_account: DataLoader[str, CustomerRecord | None]
    product_by_id: DataLoader[int, ProductRecord | None]
    product_by_sku: DataLoader[str, ProductRecord | None]
    order_by_id: DataLoader[int, OrderRecord | None]
    order_by_number: DataLoader[str, OrderRecord | None]
    warehouse_by_id: DataLoader[int, WarehouseRecord | None]
    orders_of_customer: DataLoader[OrdersKey, Page[OrderRecord]]
    order_count_of_customer: DataLoader[tuple[int, str | None], int]
    lines_of_order: DataLoader[int, list[OrderLineRecord]]
    inventory_of_product: DataLoader[int, list[InventoryRecord]]
    open_balance: DataLoader[int, Decimal]
    # The bolt-ons' (through the cache when there is one):
    price: DataLoader[tuple[str, str], PriceRecord | None]
    insights: DataLoader[str, InsightsRecord | None]
    activities: DataLoader[tuple[str, int], list[ActivityRecord] | None]
    shipment: DataLoader[str, ShipmentRecord | None]
    tracking_events: DataLoader[str, list[TrackingEventRecord] | None]

    def bolt_on(self, field: FieldDeclaration, args: Mapping[str, Any]) -> DataLoader[str, Any]:
        """The loader of a declared bolt-on field with these argument values (one per request)."""
        variant = variant_of(args)
        loaders: dict[tuple[str, str], DataLoader[str, Any]] = self.__dict__.setdefault(
            "_declared", {}
        )
        loader = loaders.get((field.coordinate, variant))
        if loader is None:

            async def batch(keys: Sequence[str]) -> Sequence[Any]:
                adapter = self._backends.declared[field.service]
                cache = self._backends.cache
                return await load_batch(
                    adapter, cache, field, args, keys, self._stale, variant=variant
                )

            loader = MeasuredDataLoader(load_fn=batch, name=field.label)
            loaders[(field.coordinate, variant)] = loader
        return loader

    def __getattr__(self, name: str) -> DataLoader[Any, Any]:
        # Only called for a loader not built yet: later reads are plain attribute hits
        # (cheaper than cached_property, which takes a lock on Python 3.11).
        batch = _BATCH_FUNCTIONS.get(name)
        if batch is None:
            raise AttributeError(name)
        loader: DataLoader[Any, Any] = MeasuredDataLoader(load_fn=batch(self))
        self.__dict__[name] = loader
        return loader

    async def _prices(self, keys: Sequence[tuple[str, str]]) -> list[Any]:
        # One batched call per currency (a query rarely mixes them), currencies in parallel.
        by_currency: dict[str, list[str]] = {}
        for sku, currency in keys:
            by_currency.setdefault(currency, []).append(sku)
        groups = list(by_currency.items())
        answers = await asyncio.gather(
            *(self._prices_in(currency, skus) for currency, skus in groups)
        )
        found: dict[tuple[str, str], Any] = {}
        for (currency, skus), prices in zip(groups, answers, strict=True):
            for sku, price in zip(skus, prices, strict=True):
                found[(sku, currency)] = price
        return [found[key] for key in keys]

    async def _prices_in(self, currency: str, skus: list[str]) -> Sequence[Any]:
        reads.mark(PRICES.label)
        pricing, cache = self._backends.pricing, self._backends.cache
        if cache is None:
            return await pricing.prices(skus, currency)

        async def fetch(missing: list[str]) -> list[PriceRecord | None]:
            return await pricing.prices(missing, currency)

        return await cache.get_many(PRICES, skus, fetch, variant=currency, on_stale=self._stale)

    async def _insights(self, keys: Sequence[str]) -> Sequence[Any]:
        reads.mark(INSIGHTS.label)
        crm, cache = self._backends.crm, self._backends.cache
        if cache is None:
            return await crm.insights(keys)
        return await cache.get_many(INSIGHTS, keys, crm.insights, on_stale=self._stale)

    async def _shipments(self, keys: Sequence[str]) -> Sequence[Any]:
        reads.mark(SHIPMENTS.label)
        shipping, cache = self._backends.shipping, self._backends.cache
        if cache is None:
            return await shipping.shipments(keys)
        return await cache.get_many(SHIPMENTS, keys, shipping.shipments, on_stale=self._stale)

    async def _activities(self, keys: Sequence[tuple[str, int]]) -> list[Any]:
        reads.mark(ACTIVITIES_LABEL)
        crm = self._backends.crm
        results = await asyncio.gather(
            *(crm.activities(account, limit) for account, limit in keys),
            return_exceptions=True,
        )
        return [_slot(result) for result in results]

    async def _tracking(self, keys: Sequence[str]) -> list[Any]:
        reads.mark(TRACKING_LABEL)
        shipping = self._backends.shipping
        results = await asyncio.gather(
            *(shipping.tracking_events(key) for key in keys), return_exceptions=True
        )
        return [_slot(result) for result in results]

    def _stale(self, service: str, operation: str, key: str) -> None:
        if self._extensions is None:
            return
        entries = self._extensions.setdefault(STALE_EXTENSION, [])
        entry = {"service": service, "operation": operation, "key": key}
        if isinstance(entries, list) and entry not in entries:
            entries.append(entry)


#: Each loader's batch function, given the ``Loaders`` of a request.
_BATCH_FUNCTIONS: dict[str, Callable[[Loaders], Callable[[list[Any]], Awaitable[Any]]]] = {
    "customer_by_id": lambda self: self._backends.core.customers_by_id,
    "customer_by_account": lambda self: self._backends.core.customers_by_account,
    "product_by_id": lambda self: self._backends.core.products_by_id,
    "product_by_sku": lambda self: self._backends.core.products_by_sku,
    "order_by_id": lambda self: self._backends.core.orders_by_id,
    "order_by_number": lambda self: self._backends.core.orders_by_number,
    "warehouse_by_id": lambda self: self._backends.core.warehouses_by_id,
    "orders_of_customer": lambda self: self._backends.core.orders_of_customers,
    "order_count_of_customer": lambda self: self._backends.core.count_orders_of_customers,
    "lines_of_order": lambda self: self._backends.core.lines_of_orders,
    "inventory_of_product": lambda self: self._backends.core.inventory_of_products,
    "open_balance": lambda self: self._backends.core.open_balances,
    "price": lambda self: self._prices,
    "insights": lambda self: self._insights,
    "activities": lambda self: self._activities,
    "shipment": lambda self: self._shipments,
    "tracking_events": lambda self: self._tracking,
}


def _slot(result: object) -> object:
    """Keep a backend error in its key's slot; re-raise anything unexpected."""
    if isinstance(result, BaseException) and not isinstance(result, BackendError):
        raise result
    return result
