"""The write side: the mutations' use cases and their runtime (services, change hooks, outbox).

``customers.py`` and ``orders.py`` are the use cases (``create_customer``,
``update_customer``, ``create_order``, ``place_order``, ``cancel_order``,
``ship_order``): plain async functions that take their dependencies by
keyword (core, writer, bolt-on adapters, ``Actor``, ``announce``), know
nothing of GraphQL, and return an ``Outcome`` (``use_case.py``: the record,
or the user errors of a write that wrote nothing). The resolvers only hand
them the operation's dependencies.

``services.py`` bundles what mutations need (the core writer, the live
event bus, the change hooks, the idempotency store); ``changes.py`` tells
caches what a committed write made stale; ``outbox.py`` delivers the core's
business events to the bolt-ons; ``replay.py`` is what a mutation sees of
its request's Idempotency-Key (the log of the writes it committed).

May import: ``adapters``, ``gateway.settings``, ``gateway.events``,
``gateway.backends``; never ``http``, ``schema``, ``resolvers`` or strawberry.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.writes.customers import CustomerChanges, CustomerOutcome
    from gateway.writes.orders import OrderOutcome
    from gateway.writes.use_case import Announce, Outcome

#: Loaded on first use: ``gateway.writes.settings`` is read by ``gateway.settings``,
#: which every CLI command imports, and must not pull in the core adapter with it.
_LAZY = {
    "Announce": "gateway.writes.use_case",
    "Outcome": "gateway.writes.use_case",
    "CustomerChanges": "gateway.writes.customers",
    "CustomerOutcome": "gateway.writes.customers",
    "OrderOutcome": "gateway.writes.orders",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gateway.writes' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = ["Announce", "CustomerChanges", "CustomerOutcome", "OrderOutcome", "Outcome"]
