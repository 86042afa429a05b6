"""The core ERP database, reached through SQLAlchemy 2 (async).

One ``AsyncEngine`` per process, created in ``__aenter__`` (the app's
lifespan enters the adapter) and disposed in ``aclose()``. Every call goes
through ``_translate()``, the one place that maps SQLAlchemy, driver and OS
errors into the ``adapters.errors`` tree.

Batch methods take keys and return one entry per key, in key order, with
``None`` (or an empty list) for a miss; each runs exactly one SQL statement,
which is what makes "one core query per relation level" hold for DataLoaders.
"""

from __future__ import annotations

import shlex
from collections.abc import (
    AsyncIterator,
    Callable,
    Hashable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import asynccontextmanager, contextmanager
from decimal import Decimal
from types import TracebackType
from typing import Any, NamedTuple, Self, TypeVar

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Integer,
    Select,
    Table,
    any_,
    bindparam,
    cast,
    event,
    func,
    inspect,
    literal_column,
    select,
    union_all,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.expression import BindParameter, CompoundSelect

from adapters import reads
from adapters.core.server_reads import Fields, ServerReads
from adapters.core.sqlite_inline import CONNECT_ARGS as INLINE_CONNECT_ARGS
from adapters.core.sqlite_inline import DRIVER as INLINE_DRIVER
from adapters.core.sqlite_inline import InlineReads, WriteTurns, begin_immediate
from adapters.core.tables import (
    core_metadata,
    customers,
    inventory,
    order_lines,
    orders,
    products,
    warehouses,
)
from adapters.core.types import CENT
from adapters.errors import BackendError, BackendTimeout, BackendUnavailable
from adapters.observe import StatementWatcher
from adapters.records import (
    CustomerRecord,
    InventoryRecord,
    OrderLineRecord,
    OrderRecord,
    Page,
    ProductRecord,
    WarehouseRecord,
)

SERVICE = "core"

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")

OrdersOfCustomerKey = tuple[int, int, int | None, str | None]
"""(customer id, first, after order id, status) of one customer's orders page."""

#: PostgreSQL's SQLSTATE for a statement cancelled by ``statement_timeout``.
_QUERY_CANCELED = "57014"


class CoreAdapter:
    """The core ERP database: batched reads, and the transaction seam for writes.

    Args:
        database_url: a SQLAlchemy async URL, ``postgresql+asyncpg://...`` or
            ``sqlite+aiosqlite:///path.db``. On PostgreSQL a libpq-style
            ``options`` query parameter (``?options=-csearch_path%3Dcore``) is
            honoured: its ``-c name=value`` pairs become session settings, so
            a core living in its own schema needs nothing but its URL.
        pool_size: connections kept open (PostgreSQL and SQLite files); on
            PostgreSQL (asyncpg) the reads have an asyncpg pool of at most
            this size of their own (``ServerReads``, opened on demand) beside
            the writes' engine.
        statement_timeout: seconds one statement may run (PostgreSQL) or wait
            for a lock (SQLite); also the connect and pool checkout budget.
        echo: log every statement (development only).
        sqlite_inline: run a SQLite core's statements on the event loop
            (``adapters.core.sqlite_inline``) rather than through aiosqlite's thread.

    Attributes:
        statements: how many SQL statements this adapter has executed; tests
            compare it before and after a GraphQL query to prove batching.

    Example:
        >>> async with CoreAdapter("sqlite+aiosqlite:///core.db") as core:
        ...     [customer] = await core.customers_by_account(["C-000042"])
    """

    service = SERVICE

    def __init__(
        self,
        database_url: str,
        *,
        pool_size: int = 10,
        statement_timeout: float = 10.0,
        echo: bool = False,
        sqlite_inline: bool = True,
    ) -> None:
        self._url = database_url
        self._pool_size = pool_size
        self._statement_timeout = statement_timeout
        self._echo = echo
        self._sqlite_inline = sqlite_inline
        self._engine: AsyncEngine | None = None
        # Where single-statement reads run: on one connection of the inline SQLite
        # driver, or on an asyncpg pool of their own (PostgreSQL); None: on the engine.
        self._reads: InlineReads | ServerReads | None = None
        # The inline SQLite driver's writers of this process, one at a time.
        self._write_turns: WriteTurns | None = None
        self.statements = 0

    # --- lifecycle ---------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._engine is None:
            try:
                self._engine = self._create_engine()
            except (sa_exc.ArgumentError, ValueError) as exc:
                # A malformed URL or unknown driver; the URL itself may hold a password.
                raise BackendUnavailable(SERVICE, "invalid database URL") from exc
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every pooled connection; the adapter can be entered again later."""
        if self._reads is not None:
            closing, self._reads = self._reads, None
            await closing.aclose()
        if self._engine is not None:
            engine, self._engine = self._engine, None
            await engine.dispose()

    @property
    def engine(self) -> AsyncEngine:
        """The open engine (for the seeder and for writers that need a transaction)."""
        if self._engine is None:
            raise BackendUnavailable(SERVICE, "adapter is closed")
        return self._engine

    def _create_engine(self) -> AsyncEngine:
        engine = create_core_engine(
            self._url,
            pool_size=self._pool_size,
            statement_timeout=self._statement_timeout,
            echo=self._echo,
            sqlite_inline=self._sqlite_inline,
        )
        event.listen(engine.sync_engine, "before_cursor_execute", self._count_statement)
        if engine.url.get_driver_name() == INLINE_DRIVER:
            self._reads = InlineReads(engine.sync_engine)
            self._write_turns = WriteTurns(self._statement_timeout)
        elif engine.url.get_driver_name() == "asyncpg":
            url, settings = _asyncpg_settings(make_url(self._url), self._statement_timeout)
            _, connect = engine.dialect.create_connect_args(url)
            self._reads = ServerReads(
                {**connect, **settings},
                dialect=engine.dialect,
                pool_size=self._pool_size,
                timeout=self._statement_timeout,
                echo=self._echo,
            )
            self._reads.watchers.append(_StatementCount(self))
        return engine

    @property
    def sync_engines(self) -> list[Engine]:
        """Every SQLAlchemy engine that runs this adapter's statements, for cursor events.

        A PostgreSQL core's reads run outside SQLAlchemy: ``watch_reads`` sees them.
        """
        return [self.engine.sync_engine]

    def watch_reads(self, watcher: StatementWatcher) -> None:
        """Tell ``watcher`` of every read that runs outside the engines (``ServerReads``)."""
        if isinstance(self._reads, ServerReads):
            self._reads.watchers.append(watcher)

    def _count_statement(self, *_: Any) -> None:
        self.statements += 1

    # --- plumbing ------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A connection inside one transaction, committed on success, errors translated.

        Example:
            >>> async with core.transaction() as conn:
            ...     await conn.execute(orders.update().where(...).values(...))

        On SQLite the transaction holds the write lock from its start (``BEGIN
        IMMEDIATE``): a transaction that read first and wrote later could find
        the snapshot it read overtaken by another writer's commit, and fail.
        """
        with _translate():
            turns = self._write_turns
            if turns is None:
                async with self.engine.begin() as conn:
                    if conn.dialect.name == "sqlite":
                        await conn.exec_driver_sql("BEGIN IMMEDIATE")
                    yield conn
                return
            async with turns.turn(), self.engine.begin() as conn:
                await begin_immediate(
                    conn, wait=self._statement_timeout, busy_timeout=self._statement_timeout
                )
                yield conn

    async def _rows(
        self,
        shape: Hashable,
        build: Callable[[Mapping[str, Any] | None], Select[Any] | CompoundSelect[Any]],
        values: dict[str, Any],
    ) -> Sequence[Fields]:
        """The rows of ``build``'s statement, compiled once per ``shape`` on PostgreSQL.

        ``build(None)`` writes the statement with value-less parameters (and
        ``= ANY`` for key lists), for ``ServerReads``; ``build(values)`` with
        the values bound, for the engines. ``shape`` must tell apart every
        statement ``build`` may write (the table, the filters present).
        """
        reads.mark(reads.CORE)
        with _translate():
            if isinstance(self._reads, ServerReads):
                return await self._reads.shaped(shape, lambda: build(None), values)
            statement = build(values)
            if self._reads is not None:
                return [row._mapping for row in await self._reads.rows(statement)]
            async with self.engine.connect() as conn:
                result = await conn.execute(statement)
                return [row._mapping for row in result.all()]

    async def _scalar(self, statement: Select[Any]) -> Any:
        reads.mark(reads.CORE)
        with _translate():
            if self._reads is not None:
                return await self._reads.scalar(statement)
            async with self.engine.connect() as conn:
                return (await conn.execute(statement)).scalar_one()

    async def ping(self) -> None:
        """Raise ``BackendUnavailable`` unless the database answers ``SELECT 1``."""
        await self._scalar(select(literal_column("1")))

    async def create_schema(self) -> None:
        """Create the core tables that are missing (embedded core, demo, tests).

        The real core owns its schema; the gateway never alters existing tables.
        """
        with _translate():
            async with self.engine.begin() as conn:
                await conn.run_sync(core_metadata.create_all)

    async def missing_schema(self) -> list[str]:
        """Tables (``orders``) and columns (``orders.currency``) the database lacks."""

        def missing(sync_conn: Connection) -> list[str]:
            inspector = inspect(sync_conn)
            present = set(inspector.get_table_names())
            found: list[str] = []
            for table in core_metadata.sorted_tables:
                if table.name not in present:
                    found.append(table.name)
                    continue
                columns = {column["name"] for column in inspector.get_columns(table.name)}
                found.extend(
                    f"{table.name}.{column.name}"
                    for column in table.columns
                    if column.name not in columns
                )
            return found

        with _translate():
            async with self.engine.connect() as conn:
                return await conn.run_sync(missing)

    async def _by_key(
        self,
        column: Column[Any],
        keys: Sequence[K],
        make: Callable[[Fields], R],
        key_of: Callable[[R], K],
    ) -> list[R | None]:
        if not keys:
            return []
        found: dict[K, R] = {}
        for row in await self._key_rows(column, _distinct(keys), ()):
            record = make(row)
            found[key_of(record)] = record
        return [found.get(key) for key in keys]

    async def _group(
        self,
        column: Column[Any],
        order_by: Sequence[Column[Any]],
        keys: Sequence[K],
        make: Callable[[Fields], R],
        key_of: Callable[[R], K],
    ) -> list[list[R]]:
        if not keys:
            return []
        grouped: dict[K, list[R]] = {}
        for row in await self._key_rows(column, _distinct(keys), order_by):
            record = make(row)
            grouped.setdefault(key_of(record), []).append(record)
        # A copy per slot: two equal keys must not share one mutable list.
        return [list(grouped.get(key, ())) for key in keys]

    async def _key_rows(
        self, column: Column[Any], keys: list[Any], order_by: Sequence[Column[Any]]
    ) -> Sequence[Fields]:
        """The rows of ``column``'s table whose ``column`` is one of ``keys``."""
        table = column.table

        def build(bound: Mapping[str, Any] | None) -> Select[Any]:
            return select(table).where(_one_of(column, "keys", bound)).order_by(*order_by)

        shape = ("keys", table.name, column.name, tuple(c.name for c in order_by))
        return await self._rows(shape, build, {"keys": keys})

    async def _page(
        self,
        table: Table,
        filters: Sequence[_Filter],
        first: int,
        after: int | None,
        make: Callable[[Fields], R],
    ) -> Page[R]:
        """``first`` rows of ``table`` by ascending id after ``after``, and whether more follow."""
        if first < 0:
            raise ValueError("first must not be negative")
        id_column = table.c.id
        # One row more than asked tells whether a next page exists.
        values: dict[str, Any] = {f.name: f.value for f in filters} | {"limit": first + 1}
        if after is not None:
            values["after"] = after

        def build(bound: Mapping[str, Any] | None) -> Select[Any]:
            statement = select(table).where(*_conditions(filters, bound))
            if after is not None:
                statement = statement.where(id_column > _bind("after", bound))
            return statement.order_by(id_column).limit(_bind("limit", bound, Integer))

        shape = ("page", table.name, tuple(f.name for f in filters), after is not None)
        rows = await self._rows(shape, build, values)
        return Page(items=[make(row) for row in rows[:first]], has_next=len(rows) > first)

    async def _count(self, table: Table, filters: Sequence[_Filter]) -> int:
        """How many rows of ``table`` pass ``filters``."""

        def build(bound: Mapping[str, Any] | None) -> Select[Any]:
            counted = select(func.count().label("n")).select_from(table)
            return counted.where(*_conditions(filters, bound))

        shape = ("count", table.name, tuple(f.name for f in filters))
        [row] = await self._rows(shape, build, {f.name: f.value for f in filters})
        return int(row["n"])

    # --- customers -----------------------------------------------------------

    async def customers_by_id(self, ids: Sequence[int]) -> list[CustomerRecord | None]:
        return await self._by_key(customers.c.id, ids, _customer, lambda r: r.id)

    async def customers_by_account(self, numbers: Sequence[str]) -> list[CustomerRecord | None]:
        return await self._by_key(
            customers.c.account_number, numbers, _customer, lambda r: r.account_number
        )

    async def list_customers(
        self,
        *,
        first: int,
        after: int | None,
        segment: str | None = None,
        name_contains: str | None = None,
    ) -> Page[CustomerRecord]:
        """Customers by ascending id after ``after``; ``name_contains`` ignores case."""
        filters = _customer_filters(segment, name_contains)
        return await self._page(customers, filters, first, after, _customer)

    async def count_customers(
        self, *, segment: str | None = None, name_contains: str | None = None
    ) -> int:
        return await self._count(customers, _customer_filters(segment, name_contains))

    async def open_balances(self, customer_ids: Sequence[int]) -> list[Decimal]:
        """Per customer, the value of its placed (not yet shipped) orders; 0.00 when none.

        Summed as integer cents: exact on PostgreSQL and on SQLite, which
        stores NUMERIC as REAL and would otherwise sum binary fractions.
        """
        if not customer_ids:
            return []

        def build(bound: Mapping[str, Any] | None) -> Select[Any]:
            cents = cast(func.round(order_lines.c.unit_price * literal_column("100")), BigInteger)
            total = func.sum(order_lines.c.quantity * cents).label("cents")
            return (
                select(orders.c.customer_id, total)
                .select_from(orders.join(order_lines, order_lines.c.order_id == orders.c.id))
                .where(
                    _one_of(orders.c.customer_id, "ids", bound),
                    orders.c.status == literal_column("'placed'"),
                )
                .group_by(orders.c.customer_id)
            )

        rows = await self._rows("open_balances", build, {"ids": _distinct(customer_ids)})
        totals = {row["customer_id"]: _cents(row["cents"]) for row in rows}
        zero = Decimal("0.00")
        return [totals.get(customer_id, zero) for customer_id in customer_ids]

    # --- products and inventory ----------------------------------------------

    async def products_by_id(self, ids: Sequence[int]) -> list[ProductRecord | None]:
        return await self._by_key(products.c.id, ids, _product, lambda r: r.id)

    async def products_by_sku(self, skus: Sequence[str]) -> list[ProductRecord | None]:
        return await self._by_key(products.c.sku, skus, _product, lambda r: r.sku)

    async def list_products(
        self,
        *,
        first: int,
        after: int | None,
        category: str | None = None,
        active: bool | None = None,
    ) -> Page[ProductRecord]:
        filters = _product_filters(category, active)
        return await self._page(products, filters, first, after, _product)

    async def count_products(
        self, *, category: str | None = None, active: bool | None = None
    ) -> int:
        return await self._count(products, _product_filters(category, active))

    async def inventory_of_products(
        self, product_ids: Sequence[int]
    ) -> list[list[InventoryRecord]]:
        """Stock rows per product, ordered by warehouse id."""
        return await self._group(
            inventory.c.product_id,
            (inventory.c.product_id, inventory.c.warehouse_id),
            product_ids,
            _inventory,
            lambda r: r.product_id,
        )

    # --- warehouses ----------------------------------------------------------

    async def warehouses_by_id(self, ids: Sequence[int]) -> list[WarehouseRecord | None]:
        return await self._by_key(warehouses.c.id, ids, _warehouse, lambda r: r.id)

    async def warehouses_by_code(self, codes: Sequence[str]) -> list[WarehouseRecord | None]:
        return await self._by_key(warehouses.c.code, codes, _warehouse, lambda r: r.code)

    async def list_warehouses(self) -> list[WarehouseRecord]:
        rows = await self._rows(
            ("all", warehouses.name), lambda _: select(warehouses).order_by(warehouses.c.id), {}
        )
        return [_warehouse(row) for row in rows]

    # --- orders --------------------------------------------------------------

    async def orders_by_id(self, ids: Sequence[int]) -> list[OrderRecord | None]:
        return await self._by_key(orders.c.id, ids, _order, lambda r: r.id)

    async def orders_by_number(self, numbers: Sequence[str]) -> list[OrderRecord | None]:
        return await self._by_key(orders.c.order_number, numbers, _order, lambda r: r.order_number)

    async def list_orders(
        self,
        *,
        first: int,
        after: int | None,
        status: str | None = None,
        customer_id: int | None = None,
    ) -> Page[OrderRecord]:
        filters = _order_filters(status, customer_id)
        return await self._page(orders, filters, first, after, _order)

    async def count_orders(
        self, *, status: str | None = None, customer_id: int | None = None
    ) -> int:
        return await self._count(orders, _order_filters(status, customer_id))

    async def orders_of_customers(
        self, keys: Sequence[OrdersOfCustomerKey]
    ) -> list[Page[OrderRecord]]:
        """One page of orders per (customer id, first, after id, status) key, in one statement.

        Keys that share (first, after, status), the usual case since a
        GraphQL query passes the same arguments for every customer, form one
        group: ``ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY id)``
        over ``customer_id IN (...)`` keeps first + 1 rows per customer. Each
        further distinct argument set adds a ``UNION ALL`` branch to the same
        statement, so a call is always exactly one round trip.
        """
        if not keys:
            return []
        groups: dict[tuple[int, int | None, str | None], list[int]] = {}
        for customer_id, first, after, status in keys:
            if first < 0:
                raise ValueError("first must not be negative")
            groups.setdefault((first, after, status), []).append(customer_id)

        values: dict[str, Any] = {}
        for index, ((first, after, status), customer_ids) in enumerate(groups.items()):
            values[f"g{index}_ids"] = _distinct(customer_ids)
            values[f"g{index}_limit"] = first + 1
            if after is not None:
                values[f"g{index}_after"] = after
            if status is not None:
                values[f"g{index}_status"] = status
        # What the statement's text depends on: per group, whether after and status are given.
        shape = tuple((after is not None, status is not None) for _, after, status in groups)

        def build(bound: Mapping[str, Any] | None) -> Select[Any] | CompoundSelect[Any]:
            branches: list[Select[Any]] = []
            for index, (has_after, has_status) in enumerate(shape):
                conditions = [_one_of(orders.c.customer_id, f"g{index}_ids", bound)]
                if has_after:
                    conditions.append(orders.c.id > _bind(f"g{index}_after", bound))
                if has_status:
                    conditions.append(orders.c.status == _bind(f"g{index}_status", bound))
                ranked = (
                    select(
                        # The group index is a trusted int: a literal keeps the
                        # branches' columns aligned without an extra parameter.
                        literal_column(str(index), Integer).label("grp"),
                        *orders.c,
                        func.row_number()
                        .over(partition_by=orders.c.customer_id, order_by=orders.c.id)
                        .label("rn"),
                    )
                    .where(*conditions)
                    .subquery(f"g{index}")
                )
                limit = _bind(f"g{index}_limit", bound, Integer)
                branches.append(select(ranked).where(ranked.c.rn <= limit))
            return branches[0] if len(branches) == 1 else union_all(*branches)

        found: dict[tuple[int, int], list[tuple[int, OrderRecord]]] = {}
        for row in await self._rows(("orders_of_customers", shape), build, values):
            key = (row["grp"], row["customer_id"])
            found.setdefault(key, []).append((row["rn"], _order(row)))
        group_index = {params: index for index, params in enumerate(groups)}
        pages: list[Page[OrderRecord]] = []
        for customer_id, first, after, status in keys:
            ranked_rows = sorted(
                found.get((group_index[(first, after, status)], customer_id), ()),
                key=lambda pair: pair[0],
            )
            pages.append(
                Page(
                    items=[record for _, record in ranked_rows[:first]],
                    has_next=len(ranked_rows) > first,
                )
            )
        return pages

    async def count_orders_of_customers(self, keys: Sequence[tuple[int, str | None]]) -> list[int]:
        """Order counts per (customer id, status or ``None`` for all), one GROUP BY."""
        if not keys:
            return []

        def build(bound: Mapping[str, Any] | None) -> Select[Any]:
            return (
                select(orders.c.customer_id, orders.c.status, func.count().label("n"))
                .where(_one_of(orders.c.customer_id, "ids", bound))
                .group_by(orders.c.customer_id, orders.c.status)
            )

        ids = _distinct(key[0] for key in keys)
        by_status: dict[tuple[int, str], int] = {}
        totals: dict[int, int] = {}
        for row in await self._rows("order_counts", build, {"ids": ids}):
            customer_id, count = row["customer_id"], row["n"]
            by_status[(customer_id, row["status"])] = count
            totals[customer_id] = totals.get(customer_id, 0) + count
        return [
            totals.get(customer_id, 0)
            if status is None
            else by_status.get((customer_id, status), 0)
            for customer_id, status in keys
        ]

    async def lines_of_orders(self, order_ids: Sequence[int]) -> list[list[OrderLineRecord]]:
        """Lines per order, ordered by line number."""
        return await self._group(
            order_lines.c.order_id,
            (order_lines.c.order_id, order_lines.c.line_no),
            order_ids,
            _line,
            lambda r: r.order_id,
        )


class _StatementCount:
    """Counts the reads ``ServerReads`` runs into ``CoreAdapter.statements``."""

    def __init__(self, core: CoreAdapter) -> None:
        self._core = core

    def started(self, statement: str) -> object:
        self._core.statements += 1
        return None

    def finished(self, token: object, outcome: str) -> None:
        return None


# --- errors ------------------------------------------------------------------


@contextmanager
def _translate() -> Iterator[None]:
    """Map database, driver and OS failures to ``BackendUnavailable("core", ...)``.

    The reason names only the failure's class: SQLAlchemy's own message
    carries the SQL, its parameters and sometimes the URL.
    """
    try:
        yield
    except BackendError:
        raise
    except sa_exc.TimeoutError as exc:
        raise BackendTimeout(SERVICE, "no free database connection") from exc
    except sa_exc.DBAPIError as exc:
        if _sqlstate(exc) == _QUERY_CANCELED:
            raise BackendTimeout(SERVICE, "statement timed out") from exc
        raise BackendUnavailable(SERVICE, f"database error ({_root_name(exc)})") from exc
    except sa_exc.StatementError as exc:
        if not isinstance(exc.orig, OSError):
            # A value our own code bound wrongly (a naive datetime, a float
            # as money) is a bug, not an outage: let it surface as one.
            raise
        raise BackendUnavailable(SERVICE, f"database error ({_root_name(exc)})") from exc
    except sa_exc.SQLAlchemyError as exc:
        raise BackendUnavailable(SERVICE, f"database error ({_root_name(exc)})") from exc
    except TimeoutError as exc:
        raise BackendTimeout(SERVICE, "timed out") from exc
    except OSError as exc:
        raise BackendUnavailable(SERVICE, f"cannot reach the database ({_root_name(exc)})") from exc


def _sqlstate(exc: sa_exc.DBAPIError) -> str | None:
    for error in (exc.orig, getattr(exc.orig, "__cause__", None)):
        code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if isinstance(code, str):
            return code
    return None


def _root_name(exc: BaseException) -> str:
    """The class name of the innermost cause (``ConnectionRefusedError``)."""
    seen = {id(exc)}
    while exc.__cause__ is not None and id(exc.__cause__) not in seen:
        exc = exc.__cause__
        seen.add(id(exc))
    orig = getattr(exc, "orig", None)
    if isinstance(orig, BaseException) and orig.__cause__ is not None:
        exc = orig.__cause__
    elif isinstance(orig, BaseException):
        exc = orig
    return type(exc).__name__


# --- engine options ----------------------------------------------------------


def create_core_engine(
    database_url: str,
    *,
    pool_size: int = 10,
    statement_timeout: float = 10.0,
    echo: bool = False,
    sqlite_inline: bool = True,
) -> AsyncEngine:
    """An ``AsyncEngine`` for a core URL, configured as ``CoreAdapter`` uses it.

    Anything else that opens the core database from the same URL (the
    gateway's own tables, scripts) should use this too: it understands the
    libpq ``options`` parameter that asyncpg lacks, and turns on SQLite's
    foreign keys, WAL and busy timeout. A SQLite URL of any driver runs on
    the inline driver (``adapters.core.sqlite_inline``) unless
    ``sqlite_inline`` is false; then on aiosqlite.

    Raises:
        sqlalchemy.exc.ArgumentError: the URL is malformed or names an unknown driver.
        ValueError: the ``options`` parameter is not a list of ``-c name=value``.
    """
    url = make_url(database_url)
    timeout = statement_timeout
    options: dict[str, Any] = {"echo": echo}
    if url.get_backend_name() == "sqlite":
        in_memory = _sqlite_in_memory(url)
        if not in_memory:
            # In-memory databases use a single static connection: no pool to size.
            options.update(pool_size=pool_size, pool_timeout=timeout)
        if sqlite_inline:
            url = url.set(drivername=f"sqlite+{INLINE_DRIVER}")
            options["connect_args"] = dict(INLINE_CONNECT_ARGS)
        else:
            url = url.set(drivername="sqlite+aiosqlite")
        engine = create_async_engine(url, **options)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(timeout, wal=not in_memory))
        return engine
    if url.get_driver_name() == "asyncpg":
        # Other drivers (psycopg) read libpq's options themselves.
        url, options["connect_args"] = _asyncpg_settings(url, timeout)
    options.update(pool_size=pool_size, pool_timeout=timeout, pool_pre_ping=True)
    return create_async_engine(url, **options)


def _asyncpg_settings(url: URL, timeout: float) -> tuple[URL, dict[str, Any]]:
    """The URL without libpq's ``options``, and asyncpg's connect arguments with them.

    The same for the writes' engine and the reads' pool (``ServerReads``).
    """
    url, settings = _pop_libpq_options(url)
    settings.setdefault("statement_timeout", str(int(timeout * 1000)))
    settings.setdefault("application_name", "gateway")
    return url, {
        "timeout": timeout,
        # A client-side guard for a stalled network; the server's
        # statement_timeout normally fires first.
        "command_timeout": timeout + 2,
        "server_settings": settings,
    }


def _sqlite_in_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"


def _sqlite_pragmas(timeout: float, *, wal: bool) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # SQLite leaves foreign keys off unless asked, per connection.
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        if wal:
            # Readers never block the writer and vice versa; NORMAL sync is
            # safe under WAL (a crash may lose the last commits, never corrupt).
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return on_connect


def _pop_libpq_options(url: URL) -> tuple[URL, dict[str, str]]:
    """Split libpq's ``options=-c name=value ...`` off the URL into session settings.

    asyncpg has no ``options`` parameter, but takes the same settings as
    ``server_settings``; psycopg would read ``options`` itself.
    """
    raw = url.query.get("options")
    if raw is None:
        return url, {}
    values = raw if isinstance(raw, tuple) else (raw,)
    settings: dict[str, str] = {}
    for value in values:
        words = shlex.split(value)
        position = 0
        while position < len(words):
            word = words[position]
            if word == "-c" and position + 1 < len(words):
                assignment = words[position + 1]
                position += 2
            elif word.startswith(("-c", "--")):
                assignment = word[2:]
                position += 1
            else:
                raise ValueError("options: expected '-c name=value' pairs")
            name, separator, setting = assignment.partition("=")
            if not separator or not name:
                raise ValueError("options: expected '-c name=value' pairs")
            settings[name.replace("-", "_")] = setting
    return url.difference_update_query(["options"]), settings


# --- rows to records -----------------------------------------------------------


def _distinct(keys: Iterable[K]) -> list[K]:
    return list(dict.fromkeys(keys))


def _cents(value: Any) -> Decimal:
    # SUM of integers: int on SQLite, an integral Decimal on PostgreSQL.
    return (Decimal(int(value)) / 100).quantize(CENT)


class _Filter(NamedTuple):
    """One filter of a list read: its parameter's name and value, and its condition."""

    name: str
    value: Any
    condition: Callable[[BindParameter[Any]], ColumnElement[bool]]


def _bind(name: str, values: Mapping[str, Any] | None, kind: Any = None) -> BindParameter[Any]:
    """The parameter ``name``, holding its value unless the statement is compiled for a shape."""
    if values is None:
        return bindparam(name, type_=kind)
    return bindparam(name, values[name], type_=kind)


def _one_of(
    column: Column[Any], name: str, values: Mapping[str, Any] | None
) -> ColumnElement[bool]:
    """``column`` is one of the list ``name``: ``= ANY`` of one array parameter when
    compiled for a shape (the text does not vary with the list's length), else ``IN``."""
    if values is None:
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(values[name])


def _conditions(
    filters: Sequence[_Filter], values: Mapping[str, Any] | None
) -> list[ColumnElement[bool]]:
    return [f.condition(_bind(f.name, values)) for f in filters]


def _escape_like(text: str) -> str:
    """``text`` matched as itself in a LIKE with ESCAPE '/' (SQLAlchemy's autoescape)."""
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def _customer_filters(segment: str | None, name_contains: str | None) -> list[_Filter]:
    found: list[_Filter] = []
    if segment is not None:
        found.append(_Filter("segment", segment, lambda p: customers.c.segment == p))
    if name_contains:
        # Escaped: a user's '%' or '_' matches itself, not any text.
        found.append(
            _Filter(
                "name_contains",
                _escape_like(name_contains),
                lambda p: customers.c.name.icontains(p, escape="/"),
            )
        )
    return found


def _product_filters(category: str | None, active: bool | None) -> list[_Filter]:
    found: list[_Filter] = []
    if category is not None:
        found.append(_Filter("category", category, lambda p: products.c.category == p))
    if active is not None:
        # active is NOT NULL: '=' and IS agree, and '=' takes a parameter.
        found.append(_Filter("active", active, lambda p: products.c.active == p))
    return found


def _order_filters(status: str | None, customer_id: int | None) -> list[_Filter]:
    found: list[_Filter] = []
    if status is not None:
        found.append(_Filter("status", status, lambda p: orders.c.status == p))
    if customer_id is not None:
        found.append(_Filter("customer_id", customer_id, lambda p: orders.c.customer_id == p))
    return found


def _customer(m: Fields) -> CustomerRecord:
    return CustomerRecord(
        id=m["id"],
        account_number=m["account_number"],
        name=m["name"],
        email=m["email"],
        segment=m["segment"],
        credit_limit=m["credit_limit"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        row_version=m["row_version"],
    )


def _product(m: Fields) -> ProductRecord:
    return ProductRecord(
        id=m["id"],
        sku=m["sku"],
        name=m["name"],
        category=m["category"],
        unit_cost=m["unit_cost"],
        active=bool(m["active"]),
    )


def _warehouse(m: Fields) -> WarehouseRecord:
    return WarehouseRecord(id=m["id"], code=m["code"], name=m["name"], region=m["region"])


def _inventory(m: Fields) -> InventoryRecord:
    return InventoryRecord(
        product_id=m["product_id"],
        warehouse_id=m["warehouse_id"],
        on_hand=m["on_hand"],
        reserved=m["reserved"],
    )


def _order(m: Fields) -> OrderRecord:
    return OrderRecord(
        id=m["id"],
        order_number=m["order_number"],
        customer_id=m["customer_id"],
        status=m["status"],
        # CHAR(3) pads shorter codes with blanks on PostgreSQL.
        currency=m["currency"].rstrip(),
        warehouse_id=m["warehouse_id"],
        placed_at=m["placed_at"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        row_version=m["row_version"],
    )


def _line(m: Fields) -> OrderLineRecord:
    return OrderLineRecord(
        id=m["id"],
        order_id=m["order_id"],
        line_no=m["line_no"],
        product_id=m["product_id"],
        quantity=m["quantity"],
        unit_price=m["unit_price"],
    )
