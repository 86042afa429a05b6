"""Reads of a server core (PostgreSQL) straight on an asyncpg pool of their own.

Through SQLAlchemy a read cost three times what asyncpg itself needs
(``python -m bench.core_reads``: 2.30 against 0.69 ms of CPU for the
fan-out's three reads): the statement's cache key, the execution context,
the result's row processors, the greenlet bridge, the expanding ``IN``. Here
a statement is still written with SQLAlchemy, but compiled to PostgreSQL
text once per *shape* (which filters, which table: the caller names it), with
``= ANY($1)`` for a list of keys so that the text, and asyncpg's prepared
statement, do not change with the number of keys. asyncpg then runs it in
the loop and hands back ``Decimal`` and aware datetimes; the columns' own
types (``Money``, ``UTCDateTime``) still convert what comes back, so a read
gives the same values as through SQLAlchemy. A statement without a shape
(the health check's ``SELECT 1``) is compiled on each call.

A single statement needs no transaction and the pool does not pre-ping: a
read that finds its pooled connection dead (the server restarted) is
retried once on a fresh one, which is safe because a read changes nothing.
Errors leave as ``adapters.errors``, named by class only: the driver's
message can carry the SQL and its parameters.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

import asyncpg
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import TypeDecorator

from adapters.errors import BackendError, BackendTimeout, BackendUnavailable
from adapters.observe import StatementWatcher

SERVICE = "core"

#: Connect arguments of SQLAlchemy's asyncpg dialect that asyncpg itself does not take.
_DIALECT_ONLY = ("prepared_statement_cache_size", "prepared_statement_name_func", "async_fallback")

#: Failures after which the connection is gone but the server may well be up. A
#: connection the server ended while it sat in the pool can also surface as a
#: protocol in a state it cannot leave (``InternalClientError``): it is dropped too.
_DEAD_CONNECTION = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.InternalClientError,
    ConnectionError,
)

#: Compiled shapes kept at most. The code's reads have a few dozen; the windowed
#: orders per customer one per pattern of argument groups, which a client chooses.
MAX_SHAPES = 512

_log = logging.getLogger("adapters.core.reads")


class Fields(Protocol):
    """One row of a read: its columns by name (an asyncpg ``Record``, a dict, a ``RowMapping``)."""

    def __getitem__(self, key: str, /) -> Any: ...

    def keys(self) -> Iterable[str]:
        """The column names, in the statement's order."""
        ...


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A statement as PostgreSQL text, and how to bind to it and read from it."""

    sql: str
    #: Per positional parameter, its name and the bind conversion of its type
    #: (``None``: bound as given).
    params: tuple[tuple[str, Callable[[Any], Any] | None], ...]
    #: (position, conversion) of the result columns whose type converts values.
    readers: tuple[tuple[int, Callable[[Any], Any]], ...]


class ServerReads:
    """Single-statement reads of a PostgreSQL core on an asyncpg pool.

    Args:
        connect: ``asyncpg.connect`` keyword arguments (host, user, timeouts,
            ``server_settings``), as ``CoreAdapter`` derives them from its URL.
        dialect: the writes' engine's dialect, to compile statements with.
        pool_size: connections the pool keeps at most; opened on demand.
        timeout: seconds a read waits for a free connection.
        echo: log every statement's text (development only).
    """

    def __init__(
        self,
        connect: Mapping[str, Any],
        *,
        dialect: Dialect,
        pool_size: int,
        timeout: float,
        echo: bool = False,
    ) -> None:
        self._connect = {k: v for k, v in connect.items() if k not in _DIALECT_ONLY}
        self._dialect = dialect
        self.pool_size = pool_size
        self._timeout = timeout
        self._echo = echo
        self._pool: asyncpg.Pool | None = None
        self._opening: asyncio.Lock | None = None
        self._shapes: dict[Hashable, _Compiled] = {}
        self.watchers: list[StatementWatcher] = []

    async def rows(self, statement: ClauseElement) -> Sequence[Fields]:
        """Every row of ``statement``, compiled for this call."""
        compiled, values = self._compile(statement)
        return await self._fetch(compiled, values)

    async def shaped(
        self,
        shape: Hashable,
        build: Callable[[], ClauseElement],
        values: Mapping[str, Any],
    ) -> Sequence[Fields]:
        """Every row of the statement ``build()`` returns, compiled once per ``shape``.

        ``build`` writes the statement with value-less ``bindparam`` s, which
        ``values`` fills by name; ``shape`` must tell apart every statement
        ``build`` may return (the table, the filters present).
        """
        compiled = self._shapes.get(shape)
        if compiled is None:
            if len(self._shapes) >= MAX_SHAPES:
                # The oldest first: a client's rare patterns cannot grow the worker.
                del self._shapes[next(iter(self._shapes))]
            compiled = self._shapes[shape] = self._compile(build())[0]
        return await self._fetch(compiled, values)

    async def scalar(self, statement: ClauseElement) -> Any:
        """The one value of ``statement``'s one row."""
        [row] = await self.rows(statement)
        return row[next(iter(row.keys()))]

    async def aclose(self) -> None:
        """Close the pool's connections (reads in flight finish first)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    # --- running -------------------------------------------------------------

    def _compile(self, statement: ClauseElement) -> tuple[_Compiled, dict[str, Any]]:
        """The statement's text and conversions, and the values it holds bound."""
        compiled = cast(
            SQLCompiler,
            statement.compile(dialect=self._dialect, compile_kwargs={"render_postcompile": True}),
        )
        params = tuple(
            (name, _binder(compiled.binds.get(name), self._dialect))
            for name in compiled.positiontup or ()
        )
        columns = getattr(statement, "selected_columns", ())
        readers = tuple(
            (position, _reader(column.type, self._dialect))
            for position, column in enumerate(columns)
            if isinstance(column.type, TypeDecorator)
        )
        return _Compiled(compiled.string, params, readers), dict(compiled.params)

    async def _fetch(self, compiled: _Compiled, values: Mapping[str, Any]) -> Sequence[Fields]:
        args = [
            values[name] if binder is None else binder(values[name])
            for name, binder in compiled.params
        ]
        try:
            records = await self._run(compiled.sql, args)
        except _DEAD_CONNECTION:
            # The pool drops a closed connection; the retry opens or takes another.
            try:
                records = await self._run(compiled.sql, args)
            except _DEAD_CONNECTION as exc:
                raise _unavailable(exc) from exc
        if not compiled.readers:
            return records
        return [_converted(record, compiled.readers) for record in records]

    async def _run(self, sql: str, args: list[Any]) -> list[asyncpg.Record]:
        if self._echo:
            _log.info("%s", sql)
        watched = [(watcher, watcher.started(sql)) for watcher in self.watchers]
        outcome = "UPSTREAM_ERROR"
        try:
            pool = self._pool or await self._open()
            try:
                connection = await pool.acquire(timeout=self._timeout)
            except TimeoutError as exc:
                outcome = "UPSTREAM_TIMEOUT"
                raise BackendTimeout(SERVICE, "no database connection in time") from exc
            try:
                records: list[asyncpg.Record] = await connection.fetch(sql, *args)
            finally:
                # A closed connection goes back too: the pool opens a new one in its place.
                await pool.release(connection)
            outcome = "ok"
            return records
        except BackendError:
            raise
        except asyncpg.exceptions.QueryCanceledError as exc:
            outcome = "UPSTREAM_TIMEOUT"
            raise BackendTimeout(SERVICE, "statement timed out") from exc
        except TimeoutError as exc:
            # asyncpg's command_timeout: the server did not answer at all.
            outcome = "UPSTREAM_TIMEOUT"
            raise BackendTimeout(SERVICE, "timed out") from exc
        except _DEAD_CONNECTION:
            outcome = "UPSTREAM_UNAVAILABLE"
            raise
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            outcome = "UPSTREAM_UNAVAILABLE" if isinstance(exc, OSError) else "UPSTREAM_ERROR"
            raise _unavailable(exc) from exc
        finally:
            for watcher, token in watched:
                watcher.finished(token, outcome)

    async def _open(self) -> asyncpg.Pool:
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._pool is None:
                # min_size 0: nothing connects until the first read, as with an
                # engine, so a gateway starts while its database is down.
                self._pool = await asyncpg.create_pool(
                    min_size=0, max_size=self.pool_size, **self._connect
                )
            return self._pool


def _unavailable(exc: BaseException) -> BackendUnavailable:
    if isinstance(exc, OSError):
        return BackendUnavailable(SERVICE, f"cannot reach the database ({type(exc).__name__})")
    return BackendUnavailable(SERVICE, f"database error ({type(exc).__name__})")


def _binder(bind: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    kind = getattr(bind, "type", None)
    if not isinstance(kind, TypeDecorator):
        return None
    process = kind.process_bind_param
    return lambda value: process(value, dialect)


def _reader(kind: TypeDecorator[Any], dialect: Dialect) -> Callable[[Any], Any]:
    process = kind.process_result_value
    return lambda value: process(value, dialect)


def _converted(
    record: asyncpg.Record, readers: tuple[tuple[int, Callable[[Any], Any]], ...]
) -> dict[str, Any]:
    values = list(record.values())
    for position, read in readers:
        values[position] = read(values[position])
    return dict(zip(record.keys(), values, strict=True))


__all__ = ["Fields", "ServerReads"]
