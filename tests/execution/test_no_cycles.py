"""A request's loaders are freed when it ends, not by the cyclic collector.

Each request builds its DataLoaders, whose caches hold every record read. Were
they in a reference cycle with the ``Loaders`` holding them (a batch function
closing over it), all of it would live until the collector ran: memory held per
request in flight, and collector time that grows with it.
"""

from __future__ import annotations

import gc
import weakref

from gateway.loaders import Loaders
from simulators.runner import Simulators
from tests.support.gateway import GatewayFactory, settings_for


async def test_a_requests_loaders_are_freed_without_the_collector(
    sqlite_core: str, sims: Simulators, gateway_factory: GatewayFactory
) -> None:
    gateway = await gateway_factory(settings_for(sqlite_core, sims, cache_enabled=False))
    loaders = Loaders(gateway.backends, extensions={})
    # A core loader, the code plugins' loaders (their batch functions get the stale sink).
    touched = [loaders.customer_by_account, loaders.price, loaders.insights, loaders.shipment]
    [record] = await loaders.customer_by_account.load_many(["C-000042"])
    assert record is not None and len(touched) == 4
    gone = weakref.ref(loaders)
    gc.disable()
    try:
        del loaders, touched
        assert gone() is None  # freed by reference counting alone
    finally:
        gc.enable()


FANOUT = (
    "{ products(first: 5) { edges { node { sku price { listPrice currency } } } } "
    'customer(accountNumber: "C-000042") { insights { healthScore } } '
    "orders(first: 3) { edges { node { orderNumber shipment { status } } } } }"
)

#: What holds a request's records: it must be freed by reference counting, not collected.
REQUEST_STATE = {"Loaders", "MeasuredDataLoader", "Context", "Executor", "ProductRecord"}


async def test_a_served_request_leaves_nothing_of_its_state_to_the_collector(
    sqlite_core: str, sims: Simulators, gateway_factory: GatewayFactory
) -> None:
    gateway = await gateway_factory(settings_for(sqlite_core, sims, cache_enabled=False))
    await gateway.data(FANOUT)  # the first request compiles the plan, warms the statements
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)  # whatever the collector finds is kept in gc.garbage
    try:
        data = await gateway.data(FANOUT)
        gc.collect()
        collected = {type(found).__name__ for found in gc.garbage}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert len(data["products"]["edges"]) == 5 and data["customer"]["insights"] is not None
    assert collected & REQUEST_STATE == set()
