"""A SQLite core runs its statements on the event loop; its writers wait for the lock there."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, insert, select

from adapters.core import CoreAdapter
from adapters.core.tables import customers
from adapters.errors import BackendTimeout, BackendUnavailable

request_name: ContextVar[str] = ContextVar("request_name", default="-")


def _customer(number: int) -> dict[str, Any]:
    return {
        "account_number": f"C-{number:06d}",
        "name": f"Customer {number}",
        "email": None,
        "segment": "smb",
        "credit_limit": 1000,
    }


async def _seeded(path: Path, **options: Any) -> CoreAdapter:
    core = CoreAdapter(f"sqlite+aiosqlite:///{path}", **options)
    await core.__aenter__()
    await core.create_schema()
    async with core.transaction() as conn:
        await conn.execute(insert(customers).values(id=1, **_customer(1)))
    return core


async def _count(core: CoreAdapter) -> int:
    return int(await core._scalar(select(func.count()).select_from(customers)))


async def test_a_read_runs_on_the_loop_thread_with_the_callers_context(tmp_path: Path) -> None:
    seen: list[tuple[str, str]] = []
    core = await _seeded(tmp_path / "core.db")
    try:
        assert core.engine.url.get_driver_name() == "inline"

        def record(*_: Any) -> None:
            seen.append((threading.current_thread().name, request_name.get()))

        [engine] = core.sync_engines
        event.listen(engine, "before_cursor_execute", record)
        request_name.set("request-42")
        before = core.statements
        [customer] = await core.customers_by_account(["C-000001"])
        counted = core.statements - before
    finally:
        await core.aclose()
    assert customer is not None and customer.name == "Customer 1"
    assert counted == 1
    assert seen == [(threading.current_thread().name, "request-42")]


async def test_aiosqlite_is_used_when_inline_is_off(tmp_path: Path) -> None:
    core = await _seeded(tmp_path / "core.db", sqlite_inline=False)
    try:
        assert core.engine.url.get_driver_name() == "aiosqlite"
        [customer] = await core.customers_by_account(["C-000001"])
    finally:
        await core.aclose()
    assert customer is not None


async def test_an_in_memory_database_works_inline() -> None:
    async with CoreAdapter("sqlite+aiosqlite:///:memory:") as core:
        await core.create_schema()
        assert core.engine.url.get_driver_name() == "inline"
        assert await core.customers_by_account(["C-000001"]) == [None]


async def test_a_failing_read_is_translated(tmp_path: Path) -> None:
    async with CoreAdapter(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}") as core:
        # No tables: the read fails and arrives translated, without SQL.
        with pytest.raises(BackendUnavailable) as caught:
            await core.customers_by_account(["C-000001"])
    assert caught.value.service == "core"
    assert "SELECT" not in str(caught.value).upper()


def _hold_write_lock(path: Path, taken: threading.Event, release: threading.Event) -> None:
    """Another process's writer, as far as SQLite can tell: its own connection, its own thread."""
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        taken.set()
        release.wait(10)
        other.execute("ROLLBACK")
    finally:
        other.close()


@asynccontextmanager
async def _another_writer(path: Path) -> AsyncIterator[threading.Event]:
    """Hold ``path``'s write lock from another connection; set the event yielded to let go."""
    taken, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(path, taken, release))
    holder.start()
    try:
        assert await asyncio.to_thread(taken.wait, 5)
        yield release
    finally:
        release.set()
        await asyncio.to_thread(holder.join)


async def test_a_writer_waits_for_the_lock_without_blocking_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "core.db"
    core = await _seeded(path)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    try:
        async with _another_writer(path) as release:
            ticking = asyncio.create_task(ticker())
            loop = asyncio.get_running_loop()
            loop.call_later(0.3, release.set)
            started = loop.time()
            async with core.transaction() as conn:
                waited = loop.time() - started
                await conn.execute(insert(customers).values(id=2, **_customer(2)))
            ticking.cancel()
        assert await _count(core) == 2
    finally:
        await core.aclose()
    assert waited >= 0.25  # it waited for the other writer...
    assert ticks >= 20  # ...while the loop kept running (60 ticks of 5 ms in 0.3 s, at best)


async def test_a_lock_that_stays_taken_times_out_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "core.db"
    core = await _seeded(path, statement_timeout=0.3)

    async def insert_one() -> None:
        async with core.transaction() as conn:
            await conn.execute(insert(customers).values(id=2, **_customer(2)))

    try:
        async with _another_writer(path):
            with pytest.raises(BackendTimeout) as caught:
                await insert_one()
        assert await _count(core) == 1
    finally:
        await core.aclose()
    assert caught.value.service == "core"


async def test_writers_of_one_process_take_turns_across_awaits(tmp_path: Path) -> None:
    """A writer suspended mid-transaction does not stall the next one's loop: it waits its turn."""
    core = await _seeded(tmp_path / "core.db")
    order: list[str] = []

    async def write(number: int) -> None:
        async with core.transaction() as conn:
            order.append(f"begin {number}")
            await asyncio.sleep(0.02)  # e.g. a bolt-on answer awaited inside the transaction
            await conn.execute(insert(customers).values(id=number, **_customer(number)))
            order.append(f"end {number}")

    try:
        await asyncio.wait_for(asyncio.gather(*(write(n) for n in (2, 3, 4))), 5)
        assert await _count(core) == 4
    finally:
        await core.aclose()
    assert order == ["begin 2", "end 2", "begin 3", "end 3", "begin 4", "end 4"]


async def test_a_rejected_write_rolls_back_and_frees_the_turn(tmp_path: Path) -> None:
    core = await _seeded(tmp_path / "core.db")

    async def two_inserts_the_second_a_duplicate() -> None:
        async with core.transaction() as conn:
            await conn.execute(insert(customers).values(id=2, **_customer(2)))
            await conn.execute(insert(customers).values(id=3, **_customer(1)))

    try:
        with pytest.raises(BackendUnavailable):
            await two_inserts_the_second_a_duplicate()
        async with core.transaction() as conn:
            await conn.execute(insert(customers).values(id=4, **_customer(4)))
        assert await _count(core) == 2
    finally:
        await core.aclose()


async def test_reads_share_one_connection_and_each_sees_the_latest_commit(tmp_path: Path) -> None:
    path = tmp_path / "core.db"
    core = await _seeded(path)
    opened: list[object] = []
    event.listen(core.engine.sync_engine, "checkout", lambda *args: opened.append(args[0]))
    try:
        assert await _count(core) == 1
        other = sqlite3.connect(path)  # another process's write, committed between two reads
        with other:
            other.execute(
                "INSERT INTO customers (id, account_number, name, segment, credit_limit) "
                "VALUES (2, 'C-000002', 'Other', 'smb', 10)"
            )
        other.close()
        assert await _count(core) == 2
        [first, second] = await core.customers_by_account(["C-000001", "C-000002"])
    finally:
        await core.aclose()
    assert first is not None and second is not None and second.name == "Other"
    assert len(opened) == 1  # the four reads: one checkout


async def test_a_failed_read_leaves_the_next_one_a_working_connection(tmp_path: Path) -> None:
    core = await _seeded(tmp_path / "core.db")
    try:
        with pytest.raises(BackendUnavailable):
            await core._scalar(select(func.no_such_function()))
        assert await _count(core) == 1
    finally:
        await core.aclose()
