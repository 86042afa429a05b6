"""Lifecycle, error translation, statement counting and the per-connection settings."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError

from adapters.core import CoreAdapter, create_core_engine
from adapters.core.tables import customers, orders
from adapters.errors import BackendTimeout, BackendUnavailable
from tests.support.core import fresh_pg_schema

SECRET = "s3cret-Pa55word"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def assert_clean(error: BackendUnavailable) -> None:
    """A translated error: the core named, no credential and no SQL in what a client may see."""
    assert error.service == "core"
    assert error.extensions["service"] == "core"
    for shown in (str(error), repr(error), error.reason, str(error.extensions)):
        assert SECRET not in shown
        assert "SELECT" not in shown.upper()


async def test_unreachable_postgres_is_backend_unavailable_without_the_password() -> None:
    url = f"postgresql+asyncpg://gateway:{SECRET}@127.0.0.1:{closed_port()}/core"
    async with CoreAdapter(url, statement_timeout=2.0) as core:
        with pytest.raises(BackendUnavailable) as caught:
            await core.ping()
        with pytest.raises(BackendUnavailable):
            await core.customers_by_id([1])
    assert_clean(caught.value)
    assert caught.value.extensions == {"code": "UPSTREAM_UNAVAILABLE", "service": "core"}
    assert "ConnectionRefusedError" in caught.value.reason
    assert isinstance(caught.value.__cause__, OSError)


@pytest.mark.parametrize(
    "url",
    [
        f"nosuchdb+nodriver://gateway:{SECRET}@127.0.0.1/core",
        f"postgresql+asyncpg://gateway:{SECRET}@127.0.0.1/core?options=not-a-setting",
        "not a url",
    ],
)
async def test_an_invalid_url_fails_on_enter_without_the_password(url: str) -> None:
    with pytest.raises(BackendUnavailable, match="invalid database URL") as caught:
        async with CoreAdapter(url):
            pass
    assert_clean(caught.value)


async def test_sqlite_in_a_missing_folder_is_backend_unavailable(tmp_path: Path) -> None:
    async with CoreAdapter(f"sqlite+aiosqlite:///{tmp_path / 'absent' / 'core.db'}") as core:
        with pytest.raises(BackendUnavailable) as caught:
            await core.ping()
    assert_clean(caught.value)


@pytest.mark.postgres
async def test_unknown_database_is_backend_unavailable(postgres_url: str) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(postgres_url).set(password=SECRET, database="no_such_database_here")
    async with CoreAdapter(url.render_as_string(hide_password=False)) as core:
        with pytest.raises(BackendUnavailable) as caught:
            await core.ping()
    assert_clean(caught.value)
    assert "InvalidCatalogName" in caught.value.reason


@pytest.mark.postgres
async def test_a_slow_statement_is_a_backend_timeout(postgres_url: str) -> None:
    async with (
        fresh_pg_schema(postgres_url) as url,
        CoreAdapter(url, statement_timeout=0.2) as core,
    ):
        with pytest.raises(BackendTimeout) as caught:
            async with core.transaction() as conn:
                await conn.execute(text("SELECT pg_sleep(2)"))
        assert caught.value.extensions["code"] == "UPSTREAM_TIMEOUT"
        await core.ping()  # the pool recovers: the connection is usable again


@pytest.mark.postgres
async def test_a_url_pinned_to_a_schema_sets_the_search_path(postgres_url: str) -> None:
    async with (
        fresh_pg_schema(postgres_url, prefix="pin") as url,
        CoreAdapter(url) as core,
        core.engine.connect() as conn,
    ):
        schema = (await conn.execute(text("SELECT current_schema()"))).scalar_one()
        timeout = (await conn.execute(text("SHOW statement_timeout"))).scalar_one()
    assert schema.startswith("pin_")
    assert timeout == "10s"


async def test_closed_adapter_refuses_calls_and_can_be_entered_again(database_url: str) -> None:
    core = CoreAdapter(database_url)
    with pytest.raises(BackendUnavailable, match="closed"):
        await core.ping()
    async with core:
        await core.ping()
    with pytest.raises(BackendUnavailable, match="closed"):
        _ = core.engine
    async with core:
        await core.ping()
    await core.aclose()  # closing twice is harmless


async def test_every_statement_is_counted(core: CoreAdapter) -> None:
    before = core.statements
    await core.ping()
    await core.list_customers(first=5, after=None)
    await core.count_customers()
    await core.customers_by_account(["C-000001", "C-000002"])
    assert core.statements - before == 4


async def test_transaction_rolls_back_when_its_body_fails(core: CoreAdapter) -> None:
    class Boom(Exception):
        pass

    async def insert_then_fail() -> None:
        async with core.transaction() as conn:
            await conn.execute(
                insert(customers), {"account_number": "C-000001", "name": "A", "segment": "smb"}
            )
            raise Boom

    with pytest.raises(Boom):
        await insert_then_fail()
    assert await core.count_customers() == 0


async def test_constraints_are_enforced_including_sqlite_foreign_keys(core: CoreAdapter) -> None:
    async with core.engine.connect() as conn:
        with pytest.raises(IntegrityError):
            await conn.execute(
                insert(orders), {"order_number": "SO-000001", "customer_id": 42, "status": "draft"}
            )
        await conn.rollback()
        with pytest.raises(IntegrityError):
            await conn.execute(
                insert(customers), {"account_number": "C-1", "name": "A", "segment": "galactic"}
            )


async def test_sqlite_connections_use_wal_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = create_core_engine(f"sqlite+aiosqlite:///{tmp_path / 'core.db'}", statement_timeout=3)
    try:
        async with engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
            assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 3000
    finally:
        await engine.dispose()


async def test_in_memory_sqlite_works_without_a_pool_size() -> None:
    async with CoreAdapter("sqlite+aiosqlite:///:memory:") as core:
        await core.create_schema()
        assert await core.missing_schema() == []
        assert await core.list_warehouses() == []
