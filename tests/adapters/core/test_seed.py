"""The deterministic seeder: same rows every run, consistent stock, refuses to overwrite."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from adapters.core import CoreAdapter, core_metadata
from adapters.core.tables import customers, inventory, order_lines, orders
from simulators import world
from simulators.seed import SeedError, SeedSummary, generate, seed
from tests.support.core import READ_SCALE


async def dump(core: CoreAdapter) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every core table, in primary-key order."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    async with core.engine.connect() as conn:
        for table in core_metadata.sorted_tables:
            statement = select(table).order_by(*table.primary_key.columns)
            tables[table.name] = [tuple(row) for row in await conn.execute(statement)]
    return tables


async def test_two_seeds_write_identical_rows(core: CoreAdapter) -> None:
    first = await seed(core, scale=READ_SCALE)
    rows = await dump(core)
    second = await seed(core, scale=READ_SCALE, reset=True)
    assert await dump(core) == rows
    assert first == second
    assert first.seconds > 0
    assert (first.customers, first.products, first.warehouses, first.orders) == (50, 25, 3, 1000)
    assert first.inventory == 25 * 3
    assert first.order_lines == len(rows["order_lines"])
    assert first.seeded_orders == first.orders
    # The rows are the generator's, which is itself a pure function of the scale.
    assert len(rows["orders"]) == len(generate(READ_SCALE).orders)


async def test_seeded_rows_follow_the_shared_world(core: CoreAdapter) -> None:
    await seed(core, scale=READ_SCALE)
    [product] = await core.products_by_sku([world.sku(7)])
    assert product is not None
    assert product.unit_cost == world.unit_cost(world.sku(7))
    numbers = [world.order_number(i) for i in range(1, 101)]
    found = await core.orders_by_number(numbers)
    for number, order in zip(numbers, found, strict=True):
        assert order is not None
        assert order.status == world.seeded_order_status(number)
        assert (order.placed_at is not None) is (order.status in ("placed", "shipped"))
        assert (order.warehouse_id is not None) is (order.status in ("placed", "shipped"))
        assert order.created_at.year == 2026
        assert order.created_at.tzinfo is UTC
    statuses = {order.status for order in found if order is not None}
    assert statuses == {"draft", "placed", "shipped", "cancelled"}
    [customer] = await core.customers_by_account([world.account_number(1)])
    assert customer is not None
    assert customer.segment in world.SEGMENTS


async def test_inventory_is_consistent_with_placed_orders(core: CoreAdapter) -> None:
    await seed(core, scale=READ_SCALE)
    placed = (
        select(
            order_lines.c.product_id,
            orders.c.warehouse_id,
            func.sum(order_lines.c.quantity).label("quantity"),
        )
        .select_from(orders.join(order_lines, order_lines.c.order_id == orders.c.id))
        .where(orders.c.status == "placed")
        .group_by(order_lines.c.product_id, orders.c.warehouse_id)
    )
    async with core.engine.connect() as conn:
        held = {(r.product_id, r.warehouse_id): r.quantity for r in await conn.execute(placed)}
        stock = (await conn.execute(select(inventory))).all()
    assert held, "the seed should hold some stock for placed orders"
    assert len(stock) == 25 * 3
    for row in stock:
        assert row.reserved == held.get((row.product_id, row.warehouse_id), 0)
        assert 0 <= row.reserved <= row.on_hand
    assert sum(row.reserved for row in stock) == sum(held.values())


async def test_seed_refuses_a_core_that_holds_data(core: CoreAdapter) -> None:
    await seed(core, scale=0.01)
    before = await dump(core)
    with pytest.raises(SeedError, match="reset"):
        await seed(core, scale=0.01)
    assert await dump(core) == before


async def test_seed_refuses_a_database_without_tables(database_url: str) -> None:
    async with CoreAdapter(database_url) as core:
        with pytest.raises(SeedError, match="create its schema"):
            await seed(core, scale=0.01)


async def test_tiny_scale_keeps_one_of_everything_and_three_warehouses(core: CoreAdapter) -> None:
    reported: list[tuple[str, int, int]] = []
    summary = await seed(
        core,
        scale=0.0001,
        progress=lambda stage, done, total: reported.append((stage, done, total)),
    )
    assert summary == SeedSummary(
        customers=1,
        products=1,
        warehouses=3,
        inventory=3,
        orders=2,
        order_lines=2,
        seeded_orders=2,
    )
    assert [w.code for w in await core.list_warehouses()] == ["WH-EU1", "WH-US1", "WH-AP1"]
    stages = [stage for stage, _, _ in reported]
    assert stages == ["warehouses", "customers", "products", "inventory", "orders", "order lines"]
    assert all(done == total for _, done, total in reported)


async def test_progress_reports_chunks_of_a_large_table(core: CoreAdapter) -> None:
    reported: list[tuple[str, int, int]] = []
    await seed(core, scale=0.3, progress=lambda *args: reported.append(args))
    orders_progress = [(done, total) for stage, done, total in reported if stage == "orders"]
    assert orders_progress == [(5000, 6000), (6000, 6000)]


def test_scale_must_be_positive() -> None:
    for scale in (0, -1, float("nan")):
        with pytest.raises(ValueError, match="scale"):
            generate(scale)


async def test_seeded_core_accepts_new_rows_after_the_seeded_ids(core: CoreAdapter) -> None:
    # PostgreSQL identity sequences must have moved past the explicit seeded ids.
    summary = await seed(core, scale=0.01)
    now = datetime.now(UTC)
    async with core.transaction() as conn:
        result = await conn.execute(
            insert(customers).returning(customers.c.id),
            {
                "account_number": "C-900001",
                "name": "Late Signup Ltd",
                "segment": "smb",
                "credit_limit": Decimal("1000.00"),
                "created_at": now,
                "updated_at": now,
            },
        )
        new_id = result.scalar_one()
    assert new_id == summary.customers + 1


async def test_seed_accepts_a_bare_engine(core: CoreAdapter) -> None:
    summary = await seed(core.engine, scale=0.01)
    assert await core.count_customers() == summary.customers == 10
