"""The root Subscription type: order events as they commit (graphql-transport-ws).

Fed by the live event bus (``gateway.events``), which only ever carries
events whose transaction committed; across instances when Redis is
configured. ``orderEvents(orderNumber:)`` narrows the feed to one order.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from gateway.context import GatewayInfo
from resolvers.customer_writes import services
from schema.order import Order, OrderStatus


@strawberry.enum(description="Business events of an order.")
class OrderEventType(Enum):
    ORDER_PLACED = "order.placed"
    ORDER_CANCELLED = "order.cancelled"
    ORDER_SHIPPED = "order.shipped"


_ORDER_EVENTS = {kind.value for kind in OrderEventType}


@strawberry.type(description="An order's committed change.")
class OrderEvent:
    id: strawberry.ID = strawberry.field(description="The event's id (as the CRM receives it).")
    type: OrderEventType
    occurred_at: datetime
    order_number: str
    status: OrderStatus = strawberry.field(description="The order's status after the change.")

    @strawberry.field(description="The order as the core has it now.")
    async def order(self, info: GatewayInfo) -> Order | None:
        # Read afresh, not through the connection's DataLoaders: a subscription's
        # context lives as long as its websocket, and their cache would go stale.
        [record] = await info.context.backends.core.orders_by_number([self.order_number])
        return None if record is None else Order.from_record(record)

    @classmethod
    def from_envelope(cls, event: dict[str, Any]) -> OrderEvent:
        data = event["data"]
        return cls(
            id=strawberry.ID(str(event["id"])),
            type=OrderEventType(event["type"]),
            occurred_at=datetime.fromisoformat(str(event["occurred_at"]).replace("Z", "+00:00")),
            order_number=str(data["order_number"]),
            status=OrderStatus(data["status"]),
        )


@strawberry.type(description="Live events, as they commit.")
class Subscription:
    @strawberry.subscription(
        description="order.placed / order.cancelled / order.shipped events, of one order if given."
    )
    async def order_events(
        self, info: GatewayInfo, order_number: str | None = None
    ) -> AsyncGenerator[OrderEvent, None]:
        async with services(info.context).bus.subscribe() as events:
            async for event in events:
                if event.get("type") not in _ORDER_EVENTS:
                    continue
                data = event.get("data") or {}
                if order_number is not None and data.get("order_number") != order_number:
                    continue
                # Nested fields of Order use the connection's loaders: start them empty.
                info.context.__dict__.pop("loaders", None)
                yield OrderEvent.from_envelope(event)


__all__ = ["OrderEvent", "OrderEventType", "Subscription"]
