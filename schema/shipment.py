"""The Shipment type (Shipping bolt-on)."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum

import strawberry

from adapters.records import ShipmentRecord, TrackingEventRecord
from gateway.context import GatewayInfo
from resolvers import shipping


@strawberry.enum(description="Where a shipment is.")
class ShipmentStatus(Enum):
    LABEL_CREATED = "label_created"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    EXCEPTION = "exception"


@strawberry.type(description="One tracking event of a shipment.")
class TrackingEvent:
    occurred_at: datetime
    status: str
    location: str

    @classmethod
    def from_record(cls, record: TrackingEventRecord) -> TrackingEvent:
        return cls(occurred_at=record.occurred_at, status=record.status, location=record.location)


@strawberry.type(description="The shipment of an order, from the Shipping bolt-on.")
class Shipment:
    shipment_id: str
    carrier: str
    tracking_number: str
    status: ShipmentStatus
    eta: date | None
    updated_at: datetime

    @strawberry.field(description="Tracking events, oldest first.")
    async def events(self, info: GatewayInfo) -> list[TrackingEvent] | None:
        records = await shipping.tracking_events(info.context, self.shipment_id)
        return None if records is None else [TrackingEvent.from_record(r) for r in records]

    @classmethod
    def from_record(cls, record: ShipmentRecord) -> Shipment:
        return cls(
            shipment_id=record.shipment_id,
            carrier=record.carrier,
            tracking_number=record.tracking_number,
            status=ShipmentStatus(record.status),
            eta=record.eta,
            updated_at=record.updated_at,
        )
