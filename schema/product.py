"""The Product type: core fields, inventory, and the Pricing bolt-on's price."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from adapters.records import InventoryRecord, PriceRecord, ProductRecord
from gateway.context import GatewayInfo
from resolvers import products
from schema.money import margin_pct
from schema.node import Node
from schema.relay import to_global_id

if TYPE_CHECKING:
    from schema.warehouse import Warehouse


@strawberry.input(description="Filters of the products list.")
class ProductFilter:
    category: str | None = None
    active: bool | None = None


@strawberry.type(description="Stock of a product in one warehouse.")
class InventoryLevel:
    on_hand: int
    reserved: int
    available: int
    warehouse_pk: strawberry.Private[int]

    @strawberry.field
    async def warehouse(
        self, info: GatewayInfo
    ) -> Annotated[Warehouse, strawberry.lazy("schema.warehouse")] | None:
        from schema.warehouse import Warehouse

        record = await info.context.loaders.warehouse_by_id.load(self.warehouse_pk)
        return None if record is None else Warehouse.from_record(record)

    @classmethod
    def from_record(cls, record: InventoryRecord) -> InventoryLevel:
        return cls(
            on_hand=record.on_hand,
            reserved=record.reserved,
            available=record.available,
            warehouse_pk=record.warehouse_id,
        )


@strawberry.type(description="A product's current price from the Pricing bolt-on.")
class Price:
    list_price: Decimal
    floor_price: Decimal
    target_margin_pct: Decimal
    valid_until: datetime
    currency: str
    margin_pct: Decimal | None = strawberry.field(
        description="Margin of the list price over the core's unit cost, in percent."
    )

    @classmethod
    def from_record(cls, record: PriceRecord, margin: Decimal | None) -> Price:
        return cls(
            list_price=record.list_price,
            floor_price=record.floor_price,
            target_margin_pct=record.target_margin_pct,
            valid_until=record.valid_until,
            currency=record.currency,
            margin_pct=margin,
        )


@strawberry.type(description="A product of the core, joined with its price.")
class Product(Node):
    sku: str
    name: str
    category: str
    active: bool
    # Nullable: only clients with margins:read see it (gateway.security.permissions).
    unit_cost: Decimal | None
    pk: strawberry.Private[int]

    @strawberry.field(description="Stock per warehouse.")
    async def inventory(self, info: GatewayInfo) -> list[InventoryLevel]:
        records = await products.inventory(info.context, self.pk)
        return [InventoryLevel.from_record(record) for record in records]

    @strawberry.field(description="Units available in all warehouses (on hand less reserved).")
    async def available(self, info: GatewayInfo) -> int:
        records = await products.inventory(info.context, self.pk)
        return sum(record.available for record in records)

    @strawberry.field(description="Current price in a currency (Pricing bolt-on).")
    async def price(self, info: GatewayInfo, currency: str = "USD") -> Price | None:
        record, base = await products.price(info.context, self.sku, currency)
        if record is None:
            return None
        # The core's unit cost is in the base currency: margin compares like with like.
        cost = self.unit_cost
        margin = None
        if base is not None and cost is not None:
            margin = margin_pct(base.list_price, cost)
        return Price.from_record(record, margin)

    @classmethod
    def from_record(cls, record: ProductRecord) -> Product:
        return cls(
            id=strawberry.ID(to_global_id("Product", record.id)),
            sku=record.sku,
            name=record.name,
            category=record.category,
            active=record.active,
            unit_cost=record.unit_cost,
            pk=record.id,
        )
