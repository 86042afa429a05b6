"""Resolvers of Customer fields and customer lists."""

from __future__ import annotations

from decimal import Decimal

from adapters.records import ActivityRecord, CustomerRecord, InsightsRecord, Page
from gateway.context import Context
from gateway.errors import UserInputError

#: The CRM contract's bounds of ``limit``.
MAX_ACTIVITIES = 100


async def by_account(context: Context, account_number: str) -> CustomerRecord | None:
    return await context.loaders.customer_by_account.load(account_number)


async def page(
    context: Context,
    *,
    first: int,
    after: int | None,
    segment: str | None,
    name_contains: str | None,
) -> Page[CustomerRecord]:
    result = await context.backends.core.list_customers(
        first=first, after=after, segment=segment, name_contains=name_contains
    )
    for record in result.items:
        context.loaders.customer_by_id.prime(record.id, record)
    return result


async def count(context: Context, *, segment: str | None, name_contains: str | None) -> int:
    return await context.backends.core.count_customers(segment=segment, name_contains=name_contains)


async def open_balance(context: Context, customer_pk: int) -> Decimal:
    return await context.loaders.open_balance.load(customer_pk)


async def insights(context: Context, account_number: str) -> InsightsRecord | None:
    found: InsightsRecord | None = await context.loaders.insights.load(account_number)
    return found


async def activities(
    context: Context, account_number: str, limit: int
) -> list[ActivityRecord] | None:
    if not 1 <= limit <= MAX_ACTIVITIES:
        raise UserInputError("limit", f"must be between 1 and {MAX_ACTIVITIES}")
    found: list[ActivityRecord] | None = await context.loaders.activities.load(
        (account_number, limit)
    )
    return found
