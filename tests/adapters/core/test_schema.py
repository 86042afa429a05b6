"""Our tables against the contract DDL: the same catalog, and the adapter reads a DDL-built core."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from adapters.core import CoreAdapter
from simulators.seed import generate, seed
from tests.support.core import READ_SCALE, fresh_pg_schema

#: A vendored copy of /work/shared/contracts/core_schema.sql, the core's given DDL.
CONTRACT_DDL = Path(__file__).parents[2] / "fixtures" / "core_schema.sql"
TABLES = ["customers", "products", "warehouses", "inventory", "orders", "order_lines"]


async def apply_contract_ddl(core: CoreAdapter) -> None:
    async with core.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        # asyncpg runs a multi-statement script when given no arguments.
        await raw.driver_connection.execute(CONTRACT_DDL.read_text())  # type: ignore[union-attr]


async def catalog(core: CoreAdapter) -> dict[str, list[tuple[Any, ...]]]:
    """Columns, constraints and indexes of the adapter's schema, schema name removed."""
    queries = {
        "columns": """
            SELECT table_name, column_name, ordinal_position, data_type, is_nullable,
                   column_default, is_identity, identity_generation,
                   character_maximum_length, numeric_precision, numeric_scale
            FROM information_schema.columns
            WHERE table_schema = current_schema()
            ORDER BY table_name, ordinal_position""",
        "constraints": """
            SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
            FROM pg_constraint
            WHERE connamespace = current_schema()::regnamespace
            ORDER BY 1, 2""",
        "indexes": """
            SELECT tablename, indexname, replace(indexdef, current_schema() || '.', '')
            FROM pg_indexes
            WHERE schemaname = current_schema()
            ORDER BY 1, 2""",
    }
    found: dict[str, list[tuple[Any, ...]]] = {}
    async with core.engine.connect() as conn:
        for name, sql in queries.items():
            found[name] = [tuple(row) for row in await conn.execute(text(sql))]
    return found


@pytest.mark.postgres
async def test_create_schema_builds_the_catalog_of_the_contract_ddl(postgres_url: str) -> None:
    async with (
        fresh_pg_schema(postgres_url, prefix="ddl") as ddl_url,
        fresh_pg_schema(postgres_url, prefix="ours") as our_url,
        CoreAdapter(ddl_url) as from_ddl,
        CoreAdapter(our_url) as from_metadata,
    ):
        await apply_contract_ddl(from_ddl)
        await from_metadata.create_schema()
        expected, actual = await catalog(from_ddl), await catalog(from_metadata)
    assert len(expected["columns"]) == 39
    assert len(expected["constraints"]) == 27
    assert actual == expected


@pytest.mark.postgres
async def test_adapter_seeds_and_reads_a_core_built_from_the_contract_ddl(
    postgres_url: str,
) -> None:
    async with fresh_pg_schema(postgres_url, prefix="ddl") as url, CoreAdapter(url) as core:
        await apply_contract_ddl(core)  # no create_schema: the real core's own tables
        assert await core.missing_schema() == []
        summary = await seed(core, scale=READ_SCALE)
        data = generate(READ_SCALE)

        assert await core.count_orders() == summary.orders == len(data.orders)
        [customer] = await core.customers_by_account(["C-000001"])
        assert customer is not None
        assert customer.credit_limit == data.customers[0]["credit_limit"]
        assert customer.created_at == data.customers[0]["created_at"]

        [page] = await core.orders_of_customers([(customer.id, 3, None, None)])
        expected_ids = [r["id"] for r in data.orders if r["customer_id"] == customer.id]
        assert [o.id for o in page.items] == expected_ids[:3]
        assert page.items[0].currency in ("USD", "EUR", "GBP")

        [lines] = await core.lines_of_orders([1])
        assert [(ln.line_no, ln.unit_price) for ln in lines] == [
            (r["line_no"], r["unit_price"]) for r in data.order_lines if r["order_id"] == 1
        ]
        [stock] = await core.inventory_of_products([1])
        assert [i.warehouse_id for i in stock] == [1, 2, 3]
        balances = await core.open_balances([customer.id])
        assert balances[0] >= 0


async def test_missing_schema_lists_absent_tables_and_columns(database_url: str) -> None:
    async with CoreAdapter(database_url) as core:
        assert await core.missing_schema() == TABLES
        await core.create_schema()
        assert await core.missing_schema() == []
        await core.create_schema()  # idempotent: existing tables are left alone
        async with core.transaction() as conn:
            await conn.execute(text("ALTER TABLE orders DROP COLUMN currency"))
        assert await core.missing_schema() == ["orders.currency"]
