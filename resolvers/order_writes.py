"""Resolvers of the order mutations: the use cases, given this operation's dependencies.

The rules (validation, Pricing's quote, Shipping's idempotent shipment,
the write) live in ``gateway.writes.orders``; a resolver here only picks
the use case's dependencies out of the operation's ``Context``: the core
and the bolt-on adapters, the core writer, the caller as the audit
trail's ``Actor``, the announcement of a committed write.
``schema.mutations`` maps the ``Outcome`` to the payload.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.context import Context
from gateway.writes import orders
from gateway.writes.orders import OrderOutcome
from plugins.pricing import pricing_of
from plugins.shipping import shipping_of
from resolvers.customer_writes import actor, services


async def create_order(
    context: Context, *, account_number: str, currency: str, lines: Sequence[tuple[str, int]]
) -> OrderOutcome:
    """``createOrder``: see ``gateway.writes.orders.create_order``."""
    writes = services(context)
    return await orders.create_order(
        account_number=account_number,
        currency=currency,
        lines=lines,
        core=context.backends.core,
        writer=writes.writer,
        pricing=pricing_of(context.backends),
        actor=actor(context, "createOrder"),
        announce=writes.committed,
    )


async def place_order(context: Context, *, order_number: str, warehouse_code: str) -> OrderOutcome:
    """``placeOrder``: see ``gateway.writes.orders.place_order``."""
    writes = services(context)
    return await orders.place_order(
        order_number=order_number,
        warehouse_code=warehouse_code,
        core=context.backends.core,
        writer=writes.writer,
        pricing=pricing_of(context.backends),
        actor=actor(context, "placeOrder"),
        announce=writes.committed,
    )


async def cancel_order(context: Context, *, order_number: str) -> OrderOutcome:
    """``cancelOrder``: see ``gateway.writes.orders.cancel_order``."""
    writes = services(context)
    return await orders.cancel_order(
        order_number=order_number,
        writer=writes.writer,
        actor=actor(context, "cancelOrder"),
        announce=writes.committed,
    )


async def ship_order(context: Context, *, order_number: str) -> OrderOutcome:
    """``shipOrder``: see ``gateway.writes.orders.ship_order``."""
    writes = services(context)
    return await orders.ship_order(
        order_number=order_number,
        core=context.backends.core,
        writer=writes.writer,
        shipping=shipping_of(context.backends),
        actor=actor(context, "shipOrder"),
        announce=writes.committed,
    )


__all__ = ["cancel_order", "create_order", "place_order", "ship_order"]
