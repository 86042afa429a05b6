"""A PostgreSQL core's reads: an asyncpg pool of their own, one statement each, a dead
connection retried, the URL's session settings applied, errors translated."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC
from decimal import Decimal

import pytest
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from adapters.core import CoreAdapter
from adapters.core.server_reads import MAX_SHAPES
from adapters.core.tables import customers, order_lines, orders, products
from adapters.errors import BackendTimeout, BackendUnavailable
from tests.support.core import fresh_pg_schema

pytestmark = pytest.mark.postgres


class _Seen:
    """A statement watcher that keeps what it saw."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.outcomes: list[str] = []

    def started(self, statement: str) -> object:
        self.statements.append(statement)
        return len(self.statements)

    def finished(self, token: object, outcome: str) -> None:
        self.outcomes.append(outcome)


async def _with_a_customer(core: CoreAdapter) -> None:
    await core.create_schema()
    async with core.transaction() as conn:
        for number in (1, 2):
            await conn.execute(
                insert(customers).values(
                    id=number,
                    account_number=f"C-00000{number}",
                    name="Acme",
                    email=None,
                    segment="smb",
                    credit_limit=Decimal("1000.5"),
                )
            )


@pytest.fixture
async def pg_core(postgres_url: str) -> AsyncIterator[CoreAdapter]:
    """A core in a fresh schema with customers 1 and 2 (``_with_a_customer``)."""
    async with fresh_pg_schema(postgres_url) as url, CoreAdapter(url) as core:
        await _with_a_customer(core)
        yield core


async def test_reads_run_on_their_own_pool_one_statement_each_counted_and_watched(
    postgres_url: str,
) -> None:
    async with fresh_pg_schema(postgres_url) as url, CoreAdapter(url, pool_size=3) as core:
        await _with_a_customer(core)
        seen = _Seen()
        core.watch_reads(seen)
        before = core.statements
        [customer] = await core.customers_by_account(["C-000001"])
        two = await core.customers_by_account(["C-000001", "C-000002", "C-000001"])
        counted = core.statements - before
        pool = core._reads.pool_size  # type: ignore[union-attr]
    assert customer is not None and customer.name == "Acme"
    # Money and time come back as the engine gives them: Decimal cents, aware UTC.
    assert customer.credit_limit == Decimal("1000.50")
    assert str(customer.credit_limit) == "1000.50"
    assert customer.created_at.tzinfo is UTC
    assert [c.account_number if c else None for c in two] == ["C-000001", "C-000002", "C-000001"]
    assert counted == 2
    assert seen.outcomes == ["ok", "ok"]
    # One key or two: the same text (= ANY of an array), so one prepared statement.
    assert seen.statements[0] == seen.statements[1]
    assert "ANY" in seen.statements[0]
    assert pool == 3


async def test_reads_carry_the_urls_session_settings(postgres_url: str) -> None:
    async with fresh_pg_schema(postgres_url) as url, CoreAdapter(url, statement_timeout=4) as core:
        schema = make_url(url).query["options"]
        path = await core._scalar(text("SHOW search_path"))  # type: ignore[arg-type]
        timeout = await core._scalar(text("SHOW statement_timeout"))  # type: ignore[arg-type]
        name = await core._scalar(text("SHOW application_name"))  # type: ignore[arg-type]
    assert f"-csearch_path={path}" == schema
    assert timeout == "4s"
    assert name == "gateway"


async def test_a_read_whose_connection_died_is_retried_on_a_fresh_one(pg_core: CoreAdapter) -> None:
    # One read leaves a connection in the reads' pool; find its server process.
    [pid] = [await pg_core._scalar(text("SELECT pg_backend_pid()"))]  # type: ignore[arg-type]
    async with pg_core.transaction() as conn:
        killed = (
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        ).scalar_one()
    assert killed is True
    # The pooled connection is dead (no pre-ping would notice): the read still answers.
    [customer] = await pg_core.customers_by_account(["C-000001"])
    assert customer is not None
    assert await pg_core._scalar(text("SELECT pg_backend_pid()")) != pid  # type: ignore[arg-type]


async def test_a_read_over_the_statement_timeout_is_a_timeout(postgres_url: str) -> None:
    async with (
        fresh_pg_schema(postgres_url) as url,
        CoreAdapter(url, statement_timeout=0.3) as core,
    ):
        seen = _Seen()
        core.watch_reads(seen)
        with pytest.raises(BackendTimeout, match="statement timed out"):
            await core._scalar(text("SELECT pg_sleep(3)"))  # type: ignore[arg-type]
        # The pool is still good for the next read.
        assert await core._scalar(text("SELECT 1")) == 1  # type: ignore[arg-type]
    assert seen.outcomes == ["UPSTREAM_TIMEOUT", "ok"]


async def test_an_unreachable_server_is_unavailable_and_names_no_credential() -> None:
    core = CoreAdapter("postgresql+asyncpg://gateway:s3cret@127.0.0.1:9/core", statement_timeout=2)
    async with core:
        with pytest.raises(BackendUnavailable) as caught:
            await core.customers_by_account(["C-000001"])
    assert "cannot reach the database" in str(caught.value)
    assert "s3cret" not in str(caught.value)


async def test_a_missing_table_is_a_database_error_not_a_crash(postgres_url: str) -> None:
    async with fresh_pg_schema(postgres_url) as url, CoreAdapter(url) as core:
        with pytest.raises(BackendUnavailable, match=r"database error \(UndefinedTableError\)"):
            await core.list_products(first=5, after=None)


async def test_page_filters_and_grouped_reads_match_on_postgres(pg_core: CoreAdapter) -> None:
    async with pg_core.transaction() as conn:
        await conn.execute(
            insert(products).values(
                [
                    {"id": 1, "sku": "A", "name": "a", "category": "x", "unit_cost": 1},
                    {"id": 2, "sku": "B", "name": "b", "category": "y", "unit_cost": 2},
                    {"id": 3, "sku": "C", "name": "c", "category": "x", "unit_cost": 3},
                ]
            )
        )
        await conn.execute(
            insert(orders).values(
                id=7, order_number="O-7", customer_id=1, status="placed", currency="EU"
            )
        )
        await conn.execute(
            insert(order_lines).values(
                [
                    {
                        "order_id": 7,
                        "line_no": 2,
                        "product_id": 3,
                        "quantity": 1,
                        "unit_price": Decimal("3.10"),
                    },
                    {
                        "order_id": 7,
                        "line_no": 1,
                        "product_id": 1,
                        "quantity": 2,
                        "unit_price": Decimal("1.05"),
                    },
                ]
            )
        )
    page = await pg_core.list_products(first=1, after=None, category="x")
    rest = await pg_core.list_products(first=5, after=page.items[0].id, category="x")
    counted = await pg_core.count_products(category="x", active=True)
    [lines, none] = await pg_core.lines_of_orders([7, 8])
    [order] = await pg_core.orders_by_number(["O-7"])
    named = await pg_core.list_customers(first=5, after=None, name_contains="CM")
    escaped = await pg_core.list_customers(first=5, after=None, name_contains="%")
    assert [p.sku for p in page.items] == ["A"] and page.has_next
    assert [p.sku for p in rest.items] == ["C"] and not rest.has_next
    assert counted == 2
    assert [(line.line_no, line.unit_price) for line in lines] == [
        (1, Decimal("1.05")),
        (2, Decimal("3.10")),
    ]
    assert none == []
    # CHAR(3) pads 'EU' to 'EU ' on PostgreSQL; the record holds the code itself.
    assert order is not None and order.currency == "EU"
    assert [c.id for c in named.items] == [1, 2]
    assert escaped.items == []


async def test_the_compiled_shapes_a_client_can_vary_stay_bounded(pg_core: CoreAdapter) -> None:
    async with pg_core.transaction() as conn:
        await conn.execute(
            insert(orders).values(
                id=5, order_number="O-5", customer_id=1, status="placed", currency="USD"
            )
        )
    for pattern in range(MAX_SHAPES + 20):
        # Five argument groups, each with or without after and status: 4**5 shapes.
        keys = [
            (
                1,
                group + 1,
                0 if pattern >> (2 * group) & 1 else None,
                "placed" if pattern >> (2 * group + 1) & 1 else None,
            )
            for group in range(5)
        ]
        pages = await pg_core.orders_of_customers(keys)
        assert [[o.order_number for o in page.items] for page in pages] == [["O-5"]] * 5
    kept = len(pg_core._reads._shapes)  # type: ignore[union-attr]
    assert kept == MAX_SHAPES
