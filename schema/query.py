"""The root Query type."""

from __future__ import annotations

import strawberry

from adapters.records import CustomerRecord, OrderRecord, ProductRecord, WarehouseRecord
from gateway.context import GatewayInfo
from gateway.errors import UserInputError
from resolvers import customers, nodes, orders, products
from resolvers.arguments import key, optional_text
from schema.customer import Customer, CustomerFilter
from schema.node import Node
from schema.order import Order, OrderFilter
from schema.product import Product, ProductFilter
from schema.relay import Connection, build_connection, from_cursor, from_global_id, page_size
from schema.warehouse import Warehouse


def _size(info: GatewayInfo, first: int | None) -> int:
    settings = info.context.settings
    return page_size(first, default=settings.default_page_size, maximum=settings.max_page_size)


@strawberry.type(description="Read the core joined with the bolt-ons.")
class Query:
    @strawberry.field(description="Fetch any object by its global id.")
    async def node(self, info: GatewayInfo, id: strawberry.ID) -> Node | None:
        type_name, pk = from_global_id(id)
        record = await nodes.by_type(info.context, type_name, pk)
        if isinstance(record, CustomerRecord):
            return Customer.from_record(record)
        if isinstance(record, ProductRecord):
            return Product.from_record(record)
        if isinstance(record, OrderRecord):
            return Order.from_record(record)
        if isinstance(record, WarehouseRecord):
            return Warehouse.from_record(record)
        return None

    @strawberry.field
    async def customer(self, info: GatewayInfo, account_number: str) -> Customer | None:
        record = await customers.by_account(info.context, key(account_number, "accountNumber"))
        return None if record is None else Customer.from_record(record)

    @strawberry.field
    async def customers(
        self,
        info: GatewayInfo,
        first: int | None = None,
        after: str | None = None,
        filter: CustomerFilter | None = None,
    ) -> Connection[Customer]:
        segment = filter.segment.value if filter and filter.segment else None
        name_contains = optional_text(
            filter.name_contains if filter else None, "filter.nameContains"
        )
        after_pk = from_cursor(after)
        result = await customers.page(
            info.context,
            first=_size(info, first),
            after=after_pk,
            segment=segment,
            name_contains=name_contains,
        )
        return build_connection(
            result.items,
            [Customer.from_record(record) for record in result.items],
            has_next=result.has_next,
            after=after_pk,
            count=lambda: customers.count(
                info.context, segment=segment, name_contains=name_contains
            ),
        )

    @strawberry.field
    async def product(self, info: GatewayInfo, sku: str) -> Product | None:
        record = await products.by_sku(info.context, key(sku, "sku"))
        return None if record is None else Product.from_record(record)

    @strawberry.field
    async def products(
        self,
        info: GatewayInfo,
        first: int | None = None,
        after: str | None = None,
        filter: ProductFilter | None = None,
    ) -> Connection[Product]:
        category = optional_text(filter.category if filter else None, "filter.category")
        active = filter.active if filter else None
        after_pk = from_cursor(after)
        result = await products.page(
            info.context, first=_size(info, first), after=after_pk, category=category, active=active
        )
        return build_connection(
            result.items,
            [Product.from_record(record) for record in result.items],
            has_next=result.has_next,
            after=after_pk,
            count=lambda: products.count(info.context, category=category, active=active),
        )

    @strawberry.field
    async def order(self, info: GatewayInfo, order_number: str) -> Order | None:
        record = await orders.by_number(info.context, key(order_number, "orderNumber"))
        return None if record is None else Order.from_record(record)

    @strawberry.field
    async def orders(
        self,
        info: GatewayInfo,
        first: int | None = None,
        after: str | None = None,
        filter: OrderFilter | None = None,
    ) -> Connection[Order]:
        status = filter.status.value if filter and filter.status else None
        customer_pk: int | None = None
        if filter and filter.account_number is not None:
            account_number = key(filter.account_number, "filter.accountNumber")
            customer = await customers.by_account(info.context, account_number)
            if customer is None:
                raise UserInputError("filter.accountNumber", "no customer has this account number")
            customer_pk = customer.id
        after_pk = from_cursor(after)
        result = await orders.page(
            info.context,
            first=_size(info, first),
            after=after_pk,
            status=status,
            customer_id=customer_pk,
        )
        return build_connection(
            result.items,
            [Order.from_record(record) for record in result.items],
            has_next=result.has_next,
            after=after_pk,
            count=lambda: orders.count(info.context, status=status, customer_id=customer_pk),
        )

    @strawberry.field(description="All warehouses of the core.")
    async def warehouses(self, info: GatewayInfo) -> list[Warehouse]:
        records = await info.context.backends.core.list_warehouses()
        return [Warehouse.from_record(record) for record in records]
