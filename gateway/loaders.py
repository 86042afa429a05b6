"""Per-request DataLoaders: every relation level becomes one batched backend call.

Built fresh for each request (so nothing leaks between clients) from the
process-wide adapters. A batch function returns one value per key, in key
order; where one key failed alone (a CRM account) its slot holds the error.

Cheap by construction: a request pays only for the loaders it touches (each
is built on first use), and the core's batch functions are the adapter's own
bound methods (no closure per request; the bolt-ons' loaders make one each, to
mark their read and reach the cache).
Bolt-on reads go through the process's ``BoltOnCache`` when there is one,
which also shares concurrent identical misses across requests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from functools import partial
from typing import Any

from strawberry.dataloader import DataLoader

from adapters import reads
from adapters.records import (
    CustomerRecord,
    InventoryRecord,
    OrderLineRecord,
    OrderRecord,
    Page,
    ProductRecord,
    WarehouseRecord,
)
from gateway.backends import Backends
from gateway.bolt_ons.declaration import FieldDeclaration
from gateway.bolt_ons.loading import load_batch, variant_of
from gateway.observability.metrics import MeasuredDataLoader
from plugins import BUILT_IN
from plugins.base import BoltOnPlugin, PluginLoader

OrdersKey = tuple[int, int, int | None, str | None]
"""(customer id, first, after id, status) of one customer's orders page."""

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
        # The loaders' batch functions get this, not a bound method: a loader held by
        # ``Loaders`` and holding it back would make every request's loaders (and the
        # records their caches keep) a cycle, freed only by the collector.
        self._stale = partial(_record_stale, extensions)

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
    # The code plugins' loaders (``BoltOnPlugin.loaders``: ``price``, ``insights``...)
    # are reached by name too, built the same way; the declared fields' by ``bolt_on``.

    def bolt_on(self, field: FieldDeclaration, args: Mapping[str, Any]) -> DataLoader[str, Any]:
        """The loader of a declared bolt-on field with these argument values (one per request)."""
        variant = variant_of(args)
        loaders: dict[tuple[str, str], DataLoader[str, Any]] = self.__dict__.setdefault(
            "_declared", {}
        )
        loader = loaders.get((field.coordinate, variant))
        if loader is None:
            backends, stale = self._backends, self._stale  # not ``self``: no cycle

            async def batch(keys: Sequence[str]) -> Sequence[Any]:
                adapter = backends.declared[field.service]
                return await load_batch(
                    adapter, backends.cache, field, args, keys, stale, variant=variant
                )

            loader = MeasuredDataLoader(load_fn=batch, name=field.label)
            loaders[(field.coordinate, variant)] = loader
        return loader

    def __getattr__(self, name: str) -> DataLoader[Any, Any]:
        # Only called for a loader not built yet: later reads are plain attribute hits
        # (cheaper than cached_property, which takes a lock on Python 3.11).
        batch = _BATCH_FUNCTIONS.get(name)
        if batch is not None:
            loader: DataLoader[Any, Any] = MeasuredDataLoader(load_fn=batch(self))
        else:
            found = _PLUGIN_LOADERS.get(name)
            if found is None:
                raise AttributeError(name)
            plugin, spec = found
            batch_of = self._plugin_batch(plugin, spec)
            loader = MeasuredDataLoader(load_fn=batch_of, name=spec.metric)
        self.__dict__[name] = loader
        return loader

    def _plugin_batch(
        self, plugin: BoltOnPlugin, spec: PluginLoader
    ) -> Callable[[list[Any]], Awaitable[Sequence[Any]]]:
        adapter = self._backends.bolt_on(plugin.name)
        inner = spec.build(adapter, self._backends.cache, self._stale)

        async def batch(keys: list[Any]) -> Sequence[Any]:
            reads.mark(spec.read)
            return await inner(keys)

        return batch


def _record_stale(
    extensions: dict[str, object] | None, service: str, operation: str, key: str
) -> None:
    """List a bolt-on answer served from its last good value under ``extensions.stale``."""
    if extensions is None:
        return
    entries = extensions.setdefault(STALE_EXTENSION, [])
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
}


def _plugin_loaders(
    plugins: tuple[BoltOnPlugin, ...],
) -> dict[str, tuple[BoltOnPlugin, PluginLoader]]:
    """Each code plugin's loaders by attribute name; two of one name stop the import."""
    found: dict[str, tuple[BoltOnPlugin, PluginLoader]] = {}
    for plugin in plugins:
        for name, spec in plugin.loaders.items():
            if name in _BATCH_FUNCTIONS or name in found:
                raise ValueError(f"the {plugin.name} plugin's loader {name!r} is taken")
            found[name] = (plugin, spec)
    return found


_PLUGIN_LOADERS = _plugin_loaders(BUILT_IN)
