"""Resolve a Relay global id to its core record."""

from __future__ import annotations

from adapters.records import CustomerRecord, OrderRecord, ProductRecord, WarehouseRecord
from gateway.context import Context
from gateway.errors import UserInputError

NodeRecord = CustomerRecord | ProductRecord | OrderRecord | WarehouseRecord


async def by_type(context: Context, type_name: str, pk: int) -> NodeRecord | None:
    loaders = context.loaders
    if type_name == "Customer":
        return await loaders.customer_by_id.load(pk)
    if type_name == "Product":
        return await loaders.product_by_id.load(pk)
    if type_name == "Order":
        return await loaders.order_by_id.load(pk)
    if type_name == "Warehouse":
        return await loaders.warehouse_by_id.load(pk)
    raise UserInputError("id", "is not a valid global id")
