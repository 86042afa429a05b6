"""Resolvers of Shipping bolt-on fields."""

from __future__ import annotations

from adapters.records import ShipmentRecord, TrackingEventRecord
from gateway.context import Context


async def shipment_of_order(context: Context, order_number: str) -> ShipmentRecord | None:
    found: ShipmentRecord | None = await context.loaders.shipment.load(order_number)
    return found


async def tracking_events(context: Context, shipment_id: str) -> list[TrackingEventRecord] | None:
    events: list[TrackingEventRecord] | None = await context.loaders.tracking_events.load(
        shipment_id
    )
    return events
