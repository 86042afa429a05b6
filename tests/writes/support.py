"""Helpers of the write tests: settings, direct core reads and writes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, select, text

from adapters.core import CoreAdapter
from adapters.core.gateway_tables import audit_log, outbox
from adapters.core.tables import customers, inventory, order_lines, orders, products, warehouses
from gateway.settings import Settings
from simulators.runner import Simulators
from tests.support.gateway import settings_for

#: 20 customers, 10 products, 3 warehouses, 400 orders.
WRITE_SCALE = 0.02
#: The orders the seeder writes at ``WRITE_SCALE``: SO-000001 .. SO-000400.
WRITE_ORDERS = int(20_000 * WRITE_SCALE)

#: For tests of input validation, which never reach a dialect-specific write.
SQLITE_ONLY = pytest.mark.parametrize("core_url", ["sqlite"], indirect=True)


def mutation_settings(core_url: str, sims: Simulators, **overrides: Any) -> Settings:
    """Test settings: the defaults, with fast outbox rounds and no retries of bolt-on calls."""
    values: dict[str, Any] = {
        "outbox_poll_interval": 0.05,
        "outbox_backoff_base": 0.05,
        "outbox_backoff_max": 0.2,
        "retry_attempts": 1,
        **overrides,
    }
    return settings_for(core_url, sims, **values)


async def scalar(core_url: str, statement: Any) -> Any:
    """One value read straight from the core database (a fresh connection)."""
    async with CoreAdapter(core_url) as core, core.engine.connect() as conn:
        return (await conn.execute(statement)).scalar()


async def rows(core_url: str, statement: Any) -> list[Any]:
    async with CoreAdapter(core_url) as core, core.engine.connect() as conn:
        return list((await conn.execute(statement)).all())


async def execute(core_url: str, *statements: str) -> None:
    """Run raw SQL in one transaction (test set-up and fault injection)."""
    async with CoreAdapter(core_url) as core, core.engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement))


async def count(core_url: str, table: Any) -> int:
    return int(await scalar(core_url, select(func.count()).select_from(table)))


async def stock(core_url: str, sku: str, warehouse_code: str) -> tuple[int, int]:
    """(on_hand, reserved) of a SKU in a warehouse."""
    [row] = await rows(
        core_url,
        select(inventory.c.on_hand, inventory.c.reserved)
        .select_from(
            inventory.join(products, products.c.id == inventory.c.product_id).join(
                warehouses, warehouses.c.id == inventory.c.warehouse_id
            )
        )
        .where(products.c.sku == sku, warehouses.c.code == warehouse_code),
    )
    return int(row.on_hand), int(row.reserved)


async def set_stock(core_url: str, sku: str, warehouse_code: str, *, available: int) -> None:
    """Make exactly ``available`` units free (on_hand = reserved + available)."""
    async with CoreAdapter(core_url) as core, core.engine.begin() as conn:
        product_id = (
            await conn.execute(select(products.c.id).where(products.c.sku == sku))
        ).scalar_one()
        warehouse_id = (
            await conn.execute(select(warehouses.c.id).where(warehouses.c.code == warehouse_code))
        ).scalar_one()
        await conn.execute(
            inventory.update()
            .where(inventory.c.product_id == product_id, inventory.c.warehouse_id == warehouse_id)
            .values(on_hand=inventory.c.reserved + available)
        )


async def set_credit(core_url: str, account_number: str, limit: str) -> None:
    from decimal import Decimal

    async with CoreAdapter(core_url) as core, core.engine.begin() as conn:
        await conn.execute(
            customers.update()
            .where(customers.c.account_number == account_number)
            .values(credit_limit=Decimal(limit))
        )


async def order_status(core_url: str, order_number: str) -> str:
    return str(
        await scalar(core_url, select(orders.c.status).where(orders.c.order_number == order_number))
    )


async def outbox_rows(core_url: str) -> list[Any]:
    return await rows(core_url, select(outbox).order_by(outbox.c.created_at))


async def audit_rows(core_url: str) -> list[Any]:
    return await rows(core_url, select(audit_log).order_by(audit_log.c.id))


async def line_prices(core_url: str, order_number: str) -> list[Any]:
    return [
        row.unit_price
        for row in await rows(
            core_url,
            select(order_lines.c.unit_price)
            .select_from(order_lines.join(orders, orders.c.id == order_lines.c.order_id))
            .where(orders.c.order_number == order_number)
            .order_by(order_lines.c.line_no),
        )
    ]


async def eventually(
    check: Callable[[], Awaitable[bool]], *, within: float = 10.0, every: float = 0.02
) -> None:
    """Wait until ``check()`` is true; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(every)


async def first_customer(core_url: str) -> str:
    return str(await scalar(core_url, select(func.min(customers.c.account_number))))


async def active_skus(core_url: str) -> list[str]:
    return [
        row.sku
        for row in await rows(
            core_url,
            select(products.c.sku).where(products.c.active.is_(True)).order_by(products.c.id),
        )
    ]
