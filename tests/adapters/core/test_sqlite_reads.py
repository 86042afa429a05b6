"""Reads of an embedded SQLite file run whole in worker threads, carrying the request's context."""

from __future__ import annotations

import threading
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert

from adapters.core import CoreAdapter
from adapters.core.tables import customers
from adapters.errors import BackendUnavailable

request_name: ContextVar[str] = ContextVar("request_name", default="-")


async def test_a_read_runs_in_a_read_thread_with_the_callers_context(tmp_path: Path) -> None:
    seen: list[tuple[str, str]] = []
    async with CoreAdapter(f"sqlite+aiosqlite:///{tmp_path / 'core.db'}") as core:
        await core.create_schema()
        async with core.transaction() as conn:  # writes keep the async engine
            await conn.execute(
                insert(customers).values(
                    id=1,
                    account_number="C-000001",
                    name="Acme",
                    email="ops@acme.test",
                    segment="smb",
                    credit_limit=1000,
                )
            )
        assert len(core.sync_engines) == 2

        def record(*_: Any) -> None:
            seen.append((threading.current_thread().name, request_name.get()))

        for engine in core.sync_engines:
            event.listen(engine, "before_cursor_execute", record)
        request_name.set("request-42")
        before = core.statements
        [customer] = await core.customers_by_account(["C-000001"])
        counted = core.statements - before
    assert customer is not None and customer.name == "Acme"
    assert counted == 1
    [(thread, name)] = seen
    assert thread.startswith("core-read")
    assert name == "request-42"


async def test_an_in_memory_database_is_read_on_the_async_engine() -> None:
    async with CoreAdapter("sqlite+aiosqlite:///:memory:") as core:
        await core.create_schema()
        assert len(core.sync_engines) == 1
        assert await core.customers_by_account(["C-000001"]) == [None]


async def test_a_failing_read_is_translated(tmp_path: Path) -> None:
    async with CoreAdapter(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}") as core:
        # No tables: the read fails in its thread and arrives translated, without SQL.
        with pytest.raises(BackendUnavailable) as caught:
            await core.customers_by_account(["C-000001"])
    assert caught.value.service == "core"
    assert "SELECT" not in str(caught.value).upper()
