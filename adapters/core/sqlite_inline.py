"""SQLite under SQLAlchemy's asyncio engine, each statement run inline on the event loop.

SQLAlchemy's asyncio engine drives its synchronous core in a greenlet and
gives the event loop back only where the driver awaits. aiosqlite awaits at
every DB-API step: cursor, execute, fetch, commit and close are each a hop to
the connection's thread and a wake-up of the loop, five or more per
statement. A busy loop wakes each step late, so a write transaction of ~15
statements lasted ~75 loop iterations while holding SQLite's one write lock;
the writers queued behind it and the read/write mix's p99 was seconds
(bench/NOTES.md). Reads in worker threads fared no better: their rows are
built by Python code that contends with the loop for the interpreter lock.

This dialect is pysqlite with the engine marked asynchronous: the greenlet
runs every step straight through on the loop thread. One of the core's
statements (a keyed read, a page, an insert) is tens of microseconds of
SQLite, less than one thread hop costs. What still waits without blocking is
the pool (a checkout when every connection is out) and the write lock:
``begin_immediate`` polls for it with SQLite's busy handler off, sleeping on
the loop between attempts, because a busy handler would block the whole loop
(and, while a writer of this process is suspended mid-transaction, wait for
a lock only the blocked loop could release). ``CoreAdapter`` therefore lets
one writer of a process at a time into a transaction (``WriteTurns``); other
processes on the same file are what ``begin_immediate`` waits for.

The price: a long read blocks the loop for its duration. The core's reads
are keyed or paged (the cost limits bound the pages), and PostgreSQL, the
production core, is not affected. ``core_sqlite_inline = false`` puts
aiosqlite back.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import exc as sa_exc
from sqlalchemy import pool
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL, Connection, Engine, Row
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable
from sqlalchemy.util.concurrency import await_, greenlet_spawn, in_greenlet

#: The driver's name in a URL: ``sqlite+inline:///core.db``.
DRIVER = "inline"
#: Longest sleep between two attempts at the write lock, seconds.
_MAX_POLL = 0.02

T = TypeVar("T")


class InlineCursor(sqlite3.Cursor):
    """A pysqlite cursor the asyncio result may "soft close": its rows stay readable."""

    async def _async_soft_close(self) -> None:
        return None


class InlineConnection(sqlite3.Connection):
    """A pysqlite connection whose cursors are ``InlineCursor``."""

    def cursor(self, factory: Any = InlineCursor) -> Any:
        return super().cursor(factory)


#: The ``connect_args`` an engine of this driver needs. The pool hands a
#: connection to whichever coroutine asks; all of them run on the loop thread,
#: but disposal may run elsewhere.
CONNECT_ARGS: dict[str, Any] = {"factory": InlineConnection, "check_same_thread": False}


class SQLiteDialect_inline(SQLiteDialect_pysqlite):  # SQLAlchemy's naming of dialects
    """pysqlite under the asyncio engine: statements run on the loop thread, unawaited."""

    driver = DRIVER
    supports_statement_cache = True
    is_async = True

    # The asyncio engine checks that a statement awaited (its guard against a
    # synchronous driver): one await of a finished coroutine per statement,
    # which switches greenlets but never yields to the event loop. The reads of
    # ``InlineReads`` run outside any greenlet and skip it.
    def do_execute(self, cursor: Any, statement: Any, parameters: Any, context: Any = None) -> None:
        _pass_the_await_check()
        cursor.execute(statement, parameters)

    def do_execute_no_params(self, cursor: Any, statement: Any, context: Any = None) -> None:
        _pass_the_await_check()
        cursor.execute(statement)

    def do_executemany(
        self, cursor: Any, statement: Any, parameters: Any, context: Any = None
    ) -> None:
        _pass_the_await_check()
        cursor.executemany(statement, parameters)

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        if cls._is_url_file_db(url):
            return pool.AsyncAdaptedQueuePool
        return pool.StaticPool


def _pass_the_await_check() -> None:
    if in_greenlet():
        await_(_ready())


async def _ready() -> None:
    return None


class InlineReads:
    """Every read of a process on one connection, called straight from the coroutine.

    A read runs and is fetched to its last row before anything else can run
    on the loop, so one connection serves them all: no pool checkout, no
    asyncio connection wrapper, no greenlet, and no closing task per
    statement (the asyncio connection shields its close in a task, during
    which other requests' reads took further connections: under load the pool
    overflowed and opened new connections). Each SELECT is its own implicit
    transaction (pysqlite begins one only before a write), so every read sees
    the latest commit.

    Args:
        engine: the inline engine's synchronous engine.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None

    async def rows(self, statement: Executable) -> Sequence[Row[Any]]:
        """Every row of ``statement``."""
        return await self._read(lambda connection: connection.execute(statement).all())

    async def scalar(self, statement: Executable) -> Any:
        """The one value of ``statement``."""
        return await self._read(lambda connection: connection.execute(statement).scalar_one())

    async def aclose(self) -> None:
        """Give the connection back to the engine's pool."""
        self._close()

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    async def _read(self, read: Callable[[Connection], T]) -> T:
        connection = self._connection
        if connection is None:
            # Opening may wait (a pool checkout, the dialect's first-connect lock).
            connection = self._connection = await greenlet_spawn(self._engine.connect)
        try:
            return read(connection)
        except BaseException:
            # Whatever failed, the next read starts on a fresh connection.
            self._close()
            raise


class WriteTurns:
    """One write transaction of this process at a time on an inline SQLite core.

    Args:
        timeout: seconds a writer waits for its turn before giving up.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._lock: asyncio.Lock | None = None

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold the turn while the body runs; ``TimeoutError`` after ``timeout``."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with asyncio.timeout(self.timeout):
            await self._lock.acquire()
        try:
            yield
        finally:
            self._lock.release()


async def begin_immediate(conn: AsyncConnection, *, wait: float, busy_timeout: float) -> None:
    """Start ``conn``'s transaction holding SQLite's write lock, waiting on the loop for it.

    The busy handler is off while polling (an attempt fails at once when
    another connection holds the lock) and set back to ``busy_timeout``
    seconds afterwards. Raises ``TimeoutError`` when the lock stays taken for
    ``wait`` seconds.
    """
    await conn.exec_driver_sql("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + wait
        delay = 0.001
        while True:
            try:
                await conn.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except sa_exc.OperationalError as exc:
                if not _is_busy(exc):
                    raise
                if time.monotonic() + delay > deadline:
                    raise TimeoutError("the core's write lock stayed taken") from exc
            await asyncio.sleep(delay)
            delay = min(delay * 2, _MAX_POLL)
    finally:
        await conn.exec_driver_sql(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")


def _is_busy(exc: sa_exc.OperationalError) -> bool:
    return getattr(exc.orig, "sqlite_errorname", None) in ("SQLITE_BUSY", "SQLITE_LOCKED")


registry.register(f"sqlite.{DRIVER}", __name__, "SQLiteDialect_inline")

__all__ = [
    "CONNECT_ARGS",
    "DRIVER",
    "InlineConnection",
    "InlineCursor",
    "InlineReads",
    "SQLiteDialect_inline",
    "WriteTurns",
    "begin_immediate",
]
