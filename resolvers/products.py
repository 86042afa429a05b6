"""Resolvers of Product fields and product lists."""

from __future__ import annotations

import asyncio
import re

from adapters.records import InventoryRecord, Page, PriceRecord, ProductRecord
from gateway.context import Context
from gateway.errors import UserInputError

#: The currency the core keeps unit costs in.
BASE_CURRENCY = "USD"
_CURRENCY = re.compile(r"[A-Z]{3}")


async def inventory(context: Context, product_pk: int) -> list[InventoryRecord]:
    return await context.loaders.inventory_of_product.load(product_pk)


async def price(
    context: Context, sku: str, currency: str
) -> tuple[PriceRecord | None, PriceRecord | None]:
    """The price in ``currency`` and in the base currency (for the margin)."""
    if not _CURRENCY.fullmatch(currency):
        raise UserInputError("currency", "must be a three-letter ISO code such as USD")
    loader = context.loaders.price
    if currency == BASE_CURRENCY:
        record = await loader.load((sku, currency))
        return record, record
    record, base = await asyncio.gather(
        loader.load((sku, currency)), loader.load((sku, BASE_CURRENCY))
    )
    return record, base


async def by_sku(context: Context, sku: str) -> ProductRecord | None:
    return await context.loaders.product_by_sku.load(sku)


async def page(
    context: Context, *, first: int, after: int | None, category: str | None, active: bool | None
) -> Page[ProductRecord]:
    result = await context.backends.core.list_products(
        first=first, after=after, category=category, active=active
    )
    for record in result.items:
        context.loaders.product_by_id.prime(record.id, record)
    return result


async def count(context: Context, *, category: str | None, active: bool | None) -> int:
    return await context.backends.core.count_products(category=category, active=active)
