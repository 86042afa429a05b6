"""Resolvers of Order fields and order lists."""

from __future__ import annotations

from decimal import Decimal

from adapters.records import OrderLineRecord, OrderRecord, Page, ShipmentRecord
from gateway.context import Context
from resolvers.products import BASE_CURRENCY


async def by_number(context: Context, order_number: str) -> OrderRecord | None:
    return await context.loaders.order_by_number.load(order_number)


async def page(
    context: Context,
    *,
    first: int,
    after: int | None,
    status: str | None,
    customer_id: int | None,
) -> Page[OrderRecord]:
    result = await context.backends.core.list_orders(
        first=first, after=after, status=status, customer_id=customer_id
    )
    for record in result.items:
        context.loaders.order_by_id.prime(record.id, record)
    return result


async def count(context: Context, *, status: str | None, customer_id: int | None) -> int:
    return await context.backends.core.count_orders(status=status, customer_id=customer_id)


async def of_customer(
    context: Context, customer_pk: int, first: int, after: int | None, status: str | None
) -> Page[OrderRecord]:
    return await context.loaders.orders_of_customer.load((customer_pk, first, after, status))


async def count_of_customer(context: Context, customer_pk: int, status: str | None) -> int:
    return await context.loaders.order_count_of_customer.load((customer_pk, status))


async def lines(context: Context, order_pk: int) -> list[OrderLineRecord]:
    return await context.loaders.lines_of_order.load(order_pk)


async def total(context: Context, order_pk: int) -> Decimal:
    return sum((line.line_total for line in await lines(context, order_pk)), Decimal("0.00"))


async def line_cost(
    context: Context, product_pk: int, quantity: int, currency: str
) -> Decimal | None:
    """Cost of a line at the core's unit cost; ``None`` outside the base currency."""
    if currency != BASE_CURRENCY:
        return None  # the core keeps no exchange rates: no honest margin to show
    product = await context.loaders.product_by_id.load(product_pk)
    return None if product is None else product.unit_cost * quantity


async def total_and_cost(
    context: Context, order_pk: int, currency: str
) -> tuple[Decimal, Decimal | None]:
    order_lines = await lines(context, order_pk)
    order_total = sum((line.line_total for line in order_lines), Decimal("0.00"))
    if currency != BASE_CURRENCY:
        return order_total, None
    loader = context.loaders.product_by_id
    products = await loader.load_many([line.product_id for line in order_lines])
    cost = Decimal("0.00")
    for line, product in zip(order_lines, products, strict=True):
        if product is None:
            return order_total, None
        cost += product.unit_cost * line.quantity
    return order_total, cost


async def shipment(context: Context, order_number: str) -> ShipmentRecord | None:
    found: ShipmentRecord | None = await context.loaders.shipment.load(order_number)
    return found
