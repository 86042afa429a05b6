"""Money stays exact and timestamps stay aware, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import StatementError

from adapters.core import CoreAdapter
from adapters.core.tables import customers, order_lines, orders, products
from adapters.core.types import to_money

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def add_customer(core: CoreAdapter, **values: object) -> int:
    row: dict[str, object] = {
        "account_number": "C-000001",
        "name": "Exact Ltd",
        "segment": "smb",
        "credit_limit": Decimal("0"),
        "created_at": T0,
        "updated_at": T0,
    }
    row.update(values)
    async with core.transaction() as conn:
        result = await conn.execute(insert(customers).returning(customers.c.id), row)
        return int(result.scalar_one())


def test_to_money_quantizes_half_up_and_reads_floats_by_their_shortest_repr() -> None:
    assert to_money(0.1) == Decimal("0.10")
    assert to_money(0.1 + 0.2) == Decimal("0.30")  # 0.30000000000000004 as a float
    assert to_money(9_999_999_999.99) == Decimal("9999999999.99")
    assert to_money(Decimal("2.345")) == Decimal("2.35")
    assert to_money(Decimal("-2.345")) == Decimal("-2.35")
    assert to_money(7) == Decimal("7.00")
    with pytest.raises(TypeError):
        to_money(True)


async def test_money_round_trips_exactly(core: CoreAdapter) -> None:
    amounts = [Decimal("0.10"), Decimal("0.20"), Decimal("9999999999.99"), Decimal("0.01")]
    async with core.transaction() as conn:
        await conn.execute(
            insert(products),
            [
                {
                    "sku": f"SKU-{i:05d}",
                    "name": "p",
                    "category": "supplies",
                    "unit_cost": amount,
                    "active": True,
                }
                for i, amount in enumerate(amounts, start=1)
            ],
        )
    found = await core.products_by_sku([f"SKU-{i:05d}" for i in range(1, 5)])
    costs = [p.unit_cost for p in found if p is not None]
    assert costs == amounts
    assert all(isinstance(c, Decimal) for c in costs)
    assert costs[0] + costs[1] == Decimal("0.30")
    # Sub-cent input is rounded the way NUMERIC(12,2) rounds it.
    customer_id = await add_customer(core, credit_limit=Decimal("10.005"))
    [customer] = await core.customers_by_id([customer_id])
    assert customer is not None
    assert customer.credit_limit == Decimal("10.01")


async def test_open_balance_sums_cents_without_float_error(core: CoreAdapter) -> None:
    customer_id = await add_customer(core)
    async with core.transaction() as conn:
        await conn.execute(
            insert(products),
            {"sku": "SKU-00001", "name": "p", "category": "supplies", "unit_cost": Decimal("0")},
        )
        await conn.execute(
            insert(orders),
            [
                {
                    "order_number": f"SO-{i:06d}",
                    "customer_id": customer_id,
                    "status": status,
                    "created_at": T0,
                    "updated_at": T0,
                }
                for i, status in enumerate(("placed", "placed", "shipped"), start=1)
            ],
        )
        # 0.10 x 3 + 0.20 x 1 + 0.10 x 7 = 1.20; SQLite's REAL sum is 1.2000000000000002.
        # The shipped order's line does not count towards the open balance.
        await conn.execute(
            insert(order_lines),
            [
                {
                    "order_id": order_id,
                    "line_no": line_no,
                    "product_id": 1,
                    "quantity": qty,
                    "unit_price": Decimal(price),
                }
                for order_id, line_no, qty, price in (
                    (1, 1, 3, "0.10"),
                    (1, 2, 1, "0.20"),
                    (2, 1, 7, "0.10"),
                    (3, 1, 9, "0.20"),
                )
            ],
        )
    [balance] = await core.open_balances([customer_id])
    assert balance == Decimal("1.20")
    assert str(balance) == "1.20"


async def test_datetimes_come_back_aware_in_utc(core: CoreAdapter) -> None:
    cet = timezone(timedelta(hours=1))
    local = datetime(2026, 3, 1, 13, 0, 0, 123456, tzinfo=cet)
    customer_id = await add_customer(core, created_at=local, updated_at=local)
    [customer] = await core.customers_by_id([customer_id])
    assert customer is not None
    assert customer.created_at == local
    assert customer.created_at.tzinfo is UTC
    assert customer.created_at.hour == 12
    assert customer.created_at.microsecond == 123456


async def test_server_default_timestamps_are_aware(core: CoreAdapter) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    async with core.transaction() as conn:
        await conn.execute(
            insert(customers), {"account_number": "C-000009", "name": "Default", "segment": "smb"}
        )
    [customer] = await core.customers_by_account(["C-000009"])
    assert customer is not None
    assert customer.created_at.tzinfo is UTC
    assert before - timedelta(seconds=1) <= customer.created_at <= datetime.now(UTC)
    assert customer.credit_limit == Decimal("0.00")
    assert customer.row_version == 1


async def test_naive_datetimes_and_float_money_are_refused(core: CoreAdapter) -> None:
    # A bug in our own code, not an outage: it must not read as UPSTREAM_UNAVAILABLE.
    with pytest.raises(StatementError, match="naive datetime"):
        await add_customer(core, created_at=datetime(2026, 1, 1))
    with pytest.raises(StatementError, match="float"):
        await add_customer(core, credit_limit=0.1)
    async with core.engine.connect() as conn:
        assert (await conn.execute(select(customers))).all() == []
