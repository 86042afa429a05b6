"""A PostgreSQL core's reads: an autocommit engine of their own, a dead connection retried."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, event, insert, text

from adapters.core import CoreAdapter
from adapters.core.tables import customers
from tests.support.core import fresh_pg_schema

pytestmark = pytest.mark.postgres


async def _with_a_customer(core: CoreAdapter) -> None:
    await core.create_schema()
    async with core.transaction() as conn:
        await conn.execute(
            insert(customers).values(
                id=1,
                account_number="C-000001",
                name="Acme",
                email=None,
                segment="smb",
                credit_limit=1000,
            )
        )


async def test_reads_run_on_their_own_autocommit_engine_and_are_counted(postgres_url: str) -> None:
    async with fresh_pg_schema(postgres_url) as url, CoreAdapter(url) as core:
        await _with_a_customer(core)
        writes, reads = core.sync_engines
        assert writes is core.engine.sync_engine
        assert reads.pool.size() == writes.pool.size()
        # No BEGIN for a read: after it, asyncpg's connection is in no transaction.
        in_transaction: list[bool] = []

        def seen(connection: Connection, *_: Any) -> None:
            in_transaction.append(connection.connection.driver_connection.is_in_transaction())

        for engine in (writes, reads):
            event.listen(engine, "after_cursor_execute", seen)
        async with core.transaction() as conn:  # the writes' engine does begin one
            await conn.execute(text("SELECT 1"))
        before = core.statements
        [customer] = await core.customers_by_account(["C-000001"])
        counted = core.statements - before
    assert customer is not None and customer.name == "Acme"
    assert counted == 1
    assert in_transaction == [True, False]


async def test_a_read_whose_connection_died_is_retried_on_a_fresh_one(postgres_url: str) -> None:
    async with fresh_pg_schema(postgres_url) as url, CoreAdapter(url) as core:
        await _with_a_customer(core)
        # One read leaves a connection in the reads' pool; find its server process.
        [pid] = [await core._scalar(text("SELECT pg_backend_pid()"))]  # type: ignore[arg-type]
        async with core.transaction() as conn:
            killed = (
                await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            ).scalar_one()
        assert killed is True
        # The pooled connection is dead (no pre-ping would notice): the read still answers.
        [customer] = await core.customers_by_account(["C-000001"])
        assert customer is not None
        assert await core._scalar(text("SELECT pg_backend_pid()")) != pid  # type: ignore[arg-type]
