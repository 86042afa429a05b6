"""The Warehouse type (core)."""

from __future__ import annotations

import strawberry

from adapters.records import WarehouseRecord
from schema.node import Node
from schema.relay import to_global_id


@strawberry.type(description="A stock location of the core.")
class Warehouse(Node):
    code: str
    name: str
    region: str
    pk: strawberry.Private[int]

    @classmethod
    def from_record(cls, record: WarehouseRecord) -> Warehouse:
        return cls(
            id=strawberry.ID(to_global_id("Warehouse", record.id)),
            code=record.code,
            name=record.name,
            region=record.region,
            pk=record.id,
        )
