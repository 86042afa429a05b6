"""Reads of an embedded SQLite core in worker threads: one thread hop per statement.

The async engine over aiosqlite hops to the connection's thread and back for
every DB-API step (cursor, execute, fetch, close, the rollback on return to
the pool): five or more event-loop wake-ups per statement, each paid in CPU
and in contention for the interpreter lock. Reads need none of that: here
the whole statement (checkout, execute, fetch, return) runs in one worker
thread of a pool as large as the connection pool, through a plain
synchronous engine on the same file. Writes keep the async engine and its
transactions (``CoreAdapter.transaction``).

Measured against the aiosqlite path with ``python -m bench.paired`` (two apps
in one process, requests alternating): CPU per request -9.5 % on the fan-out;
-3.5 % on the nested query, which is within that harness's noise.
Running whole write transactions this way was tried and dropped: a write's
~15 statements convoy with the busy event loop on the interpreter lock
(``bench/NOTES.md``).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Row
from sqlalchemy.sql import Executable


class SqliteReadPool:
    """A synchronous engine on the SQLite file and the threads that run its reads.

    Args:
        url: the core's URL (its ``+aiosqlite`` driver is replaced by pysqlite).
        pool_size: connections, and threads.
        timeout: seconds to wait for a free connection.
        on_connect: the ``connect`` listener that sets the core's pragmas.
        echo: log every statement.
    """

    def __init__(
        self,
        url: URL,
        *,
        pool_size: int,
        timeout: float,
        on_connect: Callable[[Any, Any], None],
        echo: bool = False,
    ) -> None:
        self.engine: Engine = create_engine(
            url.set(drivername="sqlite"), pool_size=pool_size, pool_timeout=timeout, echo=echo
        )
        event.listen(self.engine, "connect", on_connect)
        self._threads = ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="core-read")

    async def rows(self, statement: Executable) -> Sequence[Row[Any]]:
        """Every row of ``statement``, read in a worker thread."""
        rows: Sequence[Row[Any]] = await self._in_thread(self._rows, statement)
        return rows

    async def scalar(self, statement: Executable) -> Any:
        """The one value of ``statement``."""
        return await self._in_thread(self._scalar, statement)

    def close(self) -> None:
        """Stop the threads (a read in progress finishes) and close the connections."""
        self._threads.shutdown(wait=True)
        self.engine.dispose()

    async def _in_thread(self, read: Callable[[Executable], Any], statement: Executable) -> Any:
        # The request's context goes along: tracing spans and per-request counters
        # that the engine's cursor events feed live in context variables.
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, context.run, read, statement)

    def _rows(self, statement: Executable) -> Sequence[Row[Any]]:
        with self.engine.connect() as conn:
            return conn.execute(statement).all()

    def _scalar(self, statement: Executable) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(statement).scalar_one()


__all__ = ["SqliteReadPool"]
