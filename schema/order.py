"""The Order type: core fields, lines with margins, and the Shipping bolt-on's shipment."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from adapters.records import OrderLineRecord, OrderRecord
from gateway.context import GatewayInfo
from resolvers import orders
from schema.money import margin_pct
from schema.node import Node
from schema.relay import Connection, build_connection, from_cursor, page_size, to_global_id
from schema.shipment import Shipment

if TYPE_CHECKING:
    from schema.customer import Customer
    from schema.product import Product
    from schema.warehouse import Warehouse


@strawberry.enum(description="Lifecycle of an order.")
class OrderStatus(Enum):
    DRAFT = "draft"
    PLACED = "placed"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


@strawberry.input(description="Filters of the orders list.")
class OrderFilter:
    status: OrderStatus | None = None
    account_number: str | None = None


@strawberry.type(description="One line of an order.")
class OrderLine:
    line_no: int
    quantity: int
    unit_price: Decimal
    line_total: Decimal
    product_pk: strawberry.Private[int]
    currency: strawberry.Private[str]

    @strawberry.field
    async def product(
        self, info: GatewayInfo
    ) -> Annotated[Product, strawberry.lazy("schema.product")] | None:
        from schema.product import Product

        record = await info.context.loaders.product_by_id.load(self.product_pk)
        return None if record is None else Product.from_record(record)

    @strawberry.field(description="Margin of the unit price over the core's unit cost, percent.")
    async def margin_pct(self, info: GatewayInfo) -> Decimal | None:
        cost = await orders.line_cost(info.context, self.product_pk, self.quantity, self.currency)
        return None if cost is None else margin_pct(self.line_total, cost)

    @classmethod
    def from_record(cls, record: OrderLineRecord, currency: str) -> OrderLine:
        return cls(
            line_no=record.line_no,
            quantity=record.quantity,
            unit_price=record.unit_price,
            line_total=record.line_total,
            product_pk=record.product_id,
            currency=currency,
        )


@strawberry.type(description="A sales order of the core, joined with its shipment.")
class Order(Node):
    order_number: str
    status: OrderStatus
    currency: str
    placed_at: datetime | None
    version: int = strawberry.field(description="The core's row_version (optimistic locking).")
    created_at: datetime
    updated_at: datetime
    pk: strawberry.Private[int]
    customer_pk: strawberry.Private[int]
    warehouse_pk: strawberry.Private[int | None]

    @strawberry.field
    async def customer(
        self, info: GatewayInfo
    ) -> Annotated[Customer, strawberry.lazy("schema.customer")] | None:
        from schema.customer import Customer

        record = await info.context.loaders.customer_by_id.load(self.customer_pk)
        return None if record is None else Customer.from_record(record)

    @strawberry.field(description="The shipping warehouse, set when the order is placed.")
    async def warehouse(
        self, info: GatewayInfo
    ) -> Annotated[Warehouse, strawberry.lazy("schema.warehouse")] | None:
        from schema.warehouse import Warehouse

        if self.warehouse_pk is None:
            return None
        record = await info.context.loaders.warehouse_by_id.load(self.warehouse_pk)
        return None if record is None else Warehouse.from_record(record)

    @strawberry.field
    async def lines(self, info: GatewayInfo) -> list[OrderLine]:
        records = await orders.lines(info.context, self.pk)
        return [OrderLine.from_record(record, self.currency) for record in records]

    @strawberry.field(description="Sum of the line totals.")
    async def total(self, info: GatewayInfo) -> Decimal:
        return await orders.total(info.context, self.pk)

    @strawberry.field(description="Margin of the order total over its cost, percent.")
    async def margin_pct(self, info: GatewayInfo) -> Decimal | None:
        total, cost = await orders.total_and_cost(info.context, self.pk, self.currency)
        return None if cost is None else margin_pct(total, cost)

    @strawberry.field(description="The order's shipment (Shipping bolt-on).")
    async def shipment(self, info: GatewayInfo) -> Shipment | None:
        if self.status is OrderStatus.DRAFT:
            return None  # only placed orders can have shipped; spare the bolt-on the call
        record = await orders.shipment(info.context, self.order_number)
        return None if record is None else Shipment.from_record(record)

    @classmethod
    def from_record(cls, record: OrderRecord) -> Order:
        return cls(
            id=strawberry.ID(to_global_id("Order", record.id)),
            order_number=record.order_number,
            status=OrderStatus(record.status),
            currency=record.currency,
            placed_at=record.placed_at,
            version=record.row_version,
            created_at=record.created_at,
            updated_at=record.updated_at,
            pk=record.id,
            customer_pk=record.customer_id,
            warehouse_pk=record.warehouse_id,
        )


async def order_connection(
    info: GatewayInfo,
    *,
    customer_pk: int,
    first: int | None,
    after: str | None,
    status: OrderStatus | None,
) -> Connection[Order]:
    """One customer's orders page; all customers of a level share one core query."""
    settings = info.context.settings
    size = page_size(first, default=settings.default_page_size, maximum=settings.max_page_size)
    after_pk = from_cursor(after)
    status_value = status.value if status is not None else None
    result = await orders.of_customer(info.context, customer_pk, size, after_pk, status_value)

    async def count() -> int:
        return await orders.count_of_customer(info.context, customer_pk, status_value)

    return build_connection(
        result.items,
        [Order.from_record(record) for record in result.items],
        has_next=result.has_next,
        after=after_pk,
        count=count,
    )
