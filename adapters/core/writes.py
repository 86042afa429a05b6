"""Writes through to the core: one database transaction per business change.

``CoreWriter`` holds every write the gateway makes to the core. Each method
runs exactly one transaction that changes the core's rows, appends a row to
``gateway_audit_log`` and, for a business event, a row to ``gateway_outbox``
(the transactional outbox): either all of it commits or none of it does.

Expected failures (a stale version, too little stock, a state that does not
allow the change) raise ``WriteRejected`` inside the transaction, which
rolls it back: an expected failure writes nothing.

Concurrency, per dialect:

- PostgreSQL runs READ COMMITTED; rows a decision depends on are locked
  with ``SELECT ... FOR UPDATE`` (the order, then the customer for the
  credit check, then inventory rows in product-id order, so two writers
  never wait on each other in a cycle). Stock is reserved with a
  conditional ``UPDATE ... WHERE on_hand - reserved >= q`` whose row count
  says whether it fitted. New account and order numbers are drawn under a
  transaction-scoped advisory lock.
- SQLite has one writer at a time. A write transaction starts with
  ``BEGIN IMMEDIATE``, which takes the write lock before the first read:
  the reads a decision depends on (credit, stock, the next number) can not
  go stale before the write, and no two writers interleave. (Python's
  sqlite3 would otherwise start the transaction only at the first INSERT or
  UPDATE, leaving the reads before it outside any transaction.)
  ``CoreAdapter.transaction`` does it for every writer; the wait for the
  lock is bounded by the statement timeout and, on the inline driver, does
  not block the event loop (``adapters.core.sqlite_inline``).

A write made for a request that carries an ``Idempotency-Key`` has a
``WriteFence`` on its ``Actor``: the last statement of its transaction,
which records the write under the key and fails (rolling it all back) when
the request no longer holds the key. The write and the record of it commit
together or not at all (``gateway.http.idempotency``).

Nothing here knows GraphQL or HTTP; the resolvers translate ``WriteRejected``
into user errors and publish the returned events after the commit.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

import orjson
from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.core.adapter import CoreAdapter, _customer, _order
from adapters.core.gateway_tables import audit_log, outbox
from adapters.core.tables import (
    customers,
    inventory,
    order_lines,
    orders,
    products,
    warehouses,
)
from adapters.core.types import CENT
from adapters.errors import BackendUnavailable
from adapters.records import CustomerRecord, OrderRecord

T = TypeVar("T")


class WriteErrorCode(StrEnum):
    """Why a mutation wrote nothing: the user-error codes of the GraphQL contract."""

    VALIDATION = "VALIDATION"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    CREDIT_LIMIT_EXCEEDED = "CREDIT_LIMIT_EXCEEDED"
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
    INVALID_STATE = "INVALID_STATE"
    UPSTREAM_UNAVAILABLE = "UPSTREAM_UNAVAILABLE"


#: Keys of ``pg_advisory_xact_lock`` serialising number assignment per kind.
_NUMBER_LOCKS = {"customer": 0x6761_7465_0001, "order": 0x6761_7465_0002}
#: How often a write is retried when another writer took the same new number.
_NUMBER_ATTEMPTS = 5


class WriteRejected(Exception):
    """An expected reason not to write; the transaction is rolled back.

    Attributes:
        code: why (``CONFLICT``, ``INSUFFICIENT_STOCK``...).
        field: the input path the error is about, or ``None``.
        message: a sentence safe to show a client.
    """

    def __init__(self, code: WriteErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class WriteFence(Protocol):
    """Runs last in a write's transaction: records ``entity`` as written, or raises.

    Raises:
        WriteRejected: the write must not commit (its request lost its key).
    """

    async def __call__(self, conn: AsyncConnection, entity: tuple[str, str]) -> None: ...


@dataclass(frozen=True, slots=True)
class Actor:
    """Who writes, and through which mutation (for the audit trail).

    ``fence`` is set for a request with an ``Idempotency-Key`` (see the module).
    """

    client_id: str
    mutation: str
    request_id: str | None = None
    fence: WriteFence | None = None


@dataclass(frozen=True, slots=True)
class BusinessEvent:
    """One event of the core, as the CRM contract's ``Event`` envelope has it."""

    id: str
    type: str
    occurred_at: datetime
    data: dict[str, Any]

    def envelope(self) -> dict[str, Any]:
        """``{id, type, occurred_at, data}`` with JSON-ready values."""
        return {
            "id": self.id,
            "type": self.type,
            "occurred_at": _iso(self.occurred_at),
            "data": self.data,
        }


@dataclass(frozen=True, slots=True)
class WriteResult(Generic[T]):
    """A committed write: the entity after it, its events, and what it changed.

    ``changes`` names every entity whose data changed, as (type, business
    key) pairs: ``("Customer", "C-000042")``, ``("Order", "SO-000123")``,
    ``("Product", "SKU-00042")`` for its stock.
    """

    record: T
    events: tuple[BusinessEvent, ...] = ()
    changes: frozenset[tuple[str, str]] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class DraftLine:
    """A line of a new draft order: product id, quantity and the unit price to store."""

    product_id: int
    quantity: int
    unit_price: Decimal


class CoreWriter:
    """Every write the gateway makes to the core, each in one transaction.

    Args:
        core: the open core adapter whose engine the writes use.

    Example:
        >>> writer = CoreWriter(core)
        >>> result = await writer.create_customer(
        ...     Actor("anonymous", "createCustomer"),
        ...     name="Acme", email=None, segment="smb", credit_limit=Decimal("1000.00"),
        ... )
        >>> result.record.account_number
        'C-000051'
    """

    def __init__(self, core: CoreAdapter) -> None:
        self.core = core

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction; on SQLite it holds the write lock from the start."""
        async with self.core.transaction() as conn:
            yield conn

    # --- customers -------------------------------------------------------------

    async def create_customer(
        self,
        actor: Actor,
        *,
        name: str,
        email: str | None,
        segment: str,
        credit_limit: Decimal,
    ) -> WriteResult[CustomerRecord]:
        """Insert a customer under the next free ``C-NNNNNN`` account number."""
        for attempt in range(_NUMBER_ATTEMPTS):
            try:
                async with self.transaction() as conn:
                    number = await _next_number(conn, "customer")
                    now = _now()
                    await conn.execute(
                        insert(customers).values(
                            account_number=number,
                            name=name,
                            email=email,
                            segment=segment,
                            credit_limit=credit_limit,
                            created_at=now,
                            updated_at=now,
                            row_version=1,
                        )
                    )
                    record = await _customer_by(conn, customers.c.account_number == number)
                    event = _event("customer.created", now, _customer_data(record))
                    await _audit(conn, actor, "Customer", number, None, record.row_version, now)
                    await _outbox(conn, event, number)
                    await _fence(conn, actor, "Customer", number)
                return WriteResult(record, (event,), frozenset({("Customer", number)}))
            except BackendUnavailable as exc:
                # Another writer of the core took the number between our read and insert.
                if attempt + 1 == _NUMBER_ATTEMPTS or not _is_unique_violation(exc):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def update_customer(
        self,
        actor: Actor,
        *,
        account_number: str,
        expected_version: int,
        values: Mapping[str, Any],
    ) -> WriteResult[CustomerRecord]:
        """Change some columns of a customer, only if it is still at ``expected_version``.

        Raises:
            WriteRejected: NOT_FOUND, or CONFLICT when the version moved on.
        """
        async with self.transaction() as conn:
            now = _now()
            result = await conn.execute(
                update(customers)
                .where(
                    customers.c.account_number == account_number,
                    customers.c.row_version == expected_version,
                )
                .values(**values, updated_at=now, row_version=customers.c.row_version + 1)
            )
            if result.rowcount != 1:
                current = await _customer_or_none(conn, account_number)
                if current is None:
                    raise WriteRejected(
                        WriteErrorCode.NOT_FOUND,
                        "no customer has this account number",
                        "input.accountNumber",
                    )
                raise WriteRejected(
                    WriteErrorCode.CONFLICT,
                    f"the customer is at version {current.row_version}, "
                    f"not {expected_version}: read it again and retry",
                    "input.expectedVersion",
                )
            record = await _customer_by(conn, customers.c.account_number == account_number)
            event = _event("customer.updated", now, _customer_data(record))
            await _audit(
                conn, actor, "Customer", account_number, expected_version, record.row_version, now
            )
            await _outbox(conn, event, account_number)
            await _fence(conn, actor, "Customer", account_number)
        return WriteResult(record, (event,), frozenset({("Customer", account_number)}))

    # --- orders ----------------------------------------------------------------

    async def create_order(
        self,
        actor: Actor,
        *,
        customer_id: int,
        currency: str,
        lines: Sequence[DraftLine],
    ) -> WriteResult[OrderRecord]:
        """Insert a DRAFT order with its lines under the next ``SO-NNNNNN`` number.

        A draft is not a business event of the CRM contract: audited, no outbox row.
        """
        for attempt in range(_NUMBER_ATTEMPTS):
            try:
                async with self.transaction() as conn:
                    number = await _next_number(conn, "order")
                    now = _now()
                    order_id = (
                        await conn.execute(
                            insert(orders)
                            .values(
                                order_number=number,
                                customer_id=customer_id,
                                status="draft",
                                currency=currency,
                                created_at=now,
                                updated_at=now,
                                row_version=1,
                            )
                            .returning(orders.c.id)
                        )
                    ).scalar_one()
                    await conn.execute(
                        insert(order_lines),
                        [
                            {
                                "order_id": order_id,
                                "line_no": index,
                                "product_id": line.product_id,
                                "quantity": line.quantity,
                                "unit_price": line.unit_price,
                            }
                            for index, line in enumerate(lines, start=1)
                        ],
                    )
                    record = await _order_by(conn, order_id)
                    await _audit(conn, actor, "Order", number, None, record.row_version, now)
                    await _fence(conn, actor, "Order", number)
                return WriteResult(record, (), frozenset({("Order", number)}))
            except BackendUnavailable as exc:
                if attempt + 1 == _NUMBER_ATTEMPTS or not _is_unique_violation(exc):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def place_order(
        self,
        actor: Actor,
        *,
        order_number: str,
        expected_version: int,
        warehouse_id: int,
        unit_prices: Mapping[int, Decimal],
    ) -> WriteResult[OrderRecord]:
        """Price, credit-check and reserve stock for a DRAFT order, all or nothing.

        Args:
            order_number: the order.
            expected_version: the version the prices were quoted for; a draft
                changed since is a WriteErrorCode.CONFLICT (the quote may not match it).
            warehouse_id: where the stock is reserved.
            unit_prices: the quoted unit price per line number.

        Raises:
            WriteRejected: NOT_FOUND, INVALID_STATE, CONFLICT, CREDIT_LIMIT_EXCEEDED
                or INSUFFICIENT_STOCK.
        """
        async with self.transaction() as conn:
            order = await _lock_order(conn, order_number)
            _expect_status(order, "draft", "placed")
            if order.row_version != expected_version:
                raise WriteRejected(
                    WriteErrorCode.CONFLICT,
                    "the order changed while it was being priced; retry",
                    None,
                )
            customer = await _lock_customer(conn, order.customer_id)
            lines = await _lines_with_sku(conn, order.id)
            if set(unit_prices) != {line["line_no"] for line in lines}:
                raise WriteRejected(
                    WriteErrorCode.CONFLICT, "the order's lines changed while it was being priced"
                )
            total = sum(
                (unit_prices[line["line_no"]] * line["quantity"] for line in lines), Decimal(0)
            ).quantize(CENT)
            balance = await _open_balance(conn, customer.id)
            if balance + total > customer.credit_limit:
                raise WriteRejected(
                    WriteErrorCode.CREDIT_LIMIT_EXCEEDED,
                    f"open balance {balance} plus this order's {total} exceeds the credit "
                    f"limit {customer.credit_limit}",
                )
            for product_id, quantity, sku in _per_product(lines):
                reserved = await conn.execute(
                    update(inventory)
                    .where(
                        inventory.c.product_id == product_id,
                        inventory.c.warehouse_id == warehouse_id,
                        inventory.c.on_hand - inventory.c.reserved >= quantity,
                    )
                    .values(reserved=inventory.c.reserved + quantity)
                )
                if reserved.rowcount != 1:
                    raise WriteRejected(
                        WriteErrorCode.INSUFFICIENT_STOCK,
                        f"{sku}: fewer than {quantity} available in this warehouse",
                    )
            if lines:  # one statement for every line (executemany: one round trip on PostgreSQL)
                await conn.execute(
                    update(order_lines)
                    .where(order_lines.c.id == bindparam("line_id"))
                    .values(unit_price=bindparam("quoted")),
                    [
                        {"line_id": line["id"], "quoted": unit_prices[line["line_no"]]}
                        for line in lines
                    ],
                )
            now = _now()
            record = await _set_order(
                conn, order, status="placed", now=now, warehouse_id=warehouse_id, placed_at=now
            )
            data = await _order_data(conn, record, account_number=customer.account_number)
            event = _event("order.placed", now, data)
            await _audit(
                conn, actor, "Order", order_number, order.row_version, record.row_version, now
            )
            await _outbox(conn, event, order_number)
            await _fence(conn, actor, "Order", order_number)
        return WriteResult(record, (event,), _order_changes(record, customer, lines))

    async def cancel_order(self, actor: Actor, *, order_number: str) -> WriteResult[OrderRecord]:
        """Cancel a DRAFT or PLACED order; a placed order's reserved stock is released.

        Raises:
            WriteRejected: NOT_FOUND, or INVALID_STATE for a shipped or cancelled order.
        """
        async with self.transaction() as conn:
            order = await _lock_order(conn, order_number)
            if order.status not in ("draft", "placed"):
                raise WriteRejected(
                    WriteErrorCode.INVALID_STATE,
                    f"a {order.status} order cannot be cancelled",
                    "input.orderNumber",
                )
            lines = await _lines_with_sku(conn, order.id)
            if order.status == "placed":
                assert order.warehouse_id is not None  # every placed order has one
                for product_id, quantity, sku in _per_product(lines):
                    released = await conn.execute(
                        update(inventory)
                        .where(
                            inventory.c.product_id == product_id,
                            inventory.c.warehouse_id == order.warehouse_id,
                            inventory.c.reserved >= quantity,
                        )
                        .values(reserved=inventory.c.reserved - quantity)
                    )
                    if released.rowcount != 1:
                        raise WriteRejected(
                            WriteErrorCode.INVALID_STATE,
                            f"{sku}: the reserved stock to release is missing",
                        )
            now = _now()
            record = await _set_order(conn, order, status="cancelled", now=now)
            event = _event("order.cancelled", now, await _order_data(conn, record))
            await _audit(
                conn, actor, "Order", order_number, order.row_version, record.row_version, now
            )
            await _outbox(conn, event, order_number)
            await _fence(conn, actor, "Order", order_number)
            customer = await _customer_by(conn, customers.c.id == order.customer_id)
        changed = lines if order.status == "placed" else []
        return WriteResult(record, (event,), _order_changes(record, customer, changed))

    async def ship_order(
        self, actor: Actor, *, order_number: str, shipment_id: str
    ) -> WriteResult[OrderRecord]:
        """Move a PLACED order's reserved stock out of on-hand and mark it SHIPPED.

        An order found already shipped is returned unchanged with no events:
        a concurrent or repeated ``shipOrder`` converges on one stock movement.

        Raises:
            WriteRejected: NOT_FOUND, or INVALID_STATE for a draft or cancelled order.
        """
        async with self.transaction() as conn:
            order = await _lock_order(conn, order_number)
            if order.status == "shipped":
                return WriteResult(order)
            _expect_status(order, "placed", "shipped")
            assert order.warehouse_id is not None
            lines = await _lines_with_sku(conn, order.id)
            for product_id, quantity, sku in _per_product(lines):
                moved = await conn.execute(
                    update(inventory)
                    .where(
                        inventory.c.product_id == product_id,
                        inventory.c.warehouse_id == order.warehouse_id,
                        inventory.c.reserved >= quantity,
                        inventory.c.on_hand >= quantity,
                    )
                    .values(
                        reserved=inventory.c.reserved - quantity,
                        on_hand=inventory.c.on_hand - quantity,
                    )
                )
                if moved.rowcount != 1:
                    raise WriteRejected(
                        WriteErrorCode.INVALID_STATE,
                        f"{sku}: the reserved stock to ship is missing",
                    )
            now = _now()
            record = await _set_order(conn, order, status="shipped", now=now)
            data = await _order_data(conn, record)
            data["shipment_id"] = shipment_id
            event = _event("order.shipped", now, data)
            await _audit(
                conn, actor, "Order", order_number, order.row_version, record.row_version, now
            )
            await _outbox(conn, event, order_number)
            await _fence(conn, actor, "Order", order_number)
            customer = await _customer_by(conn, customers.c.id == order.customer_id)
        return WriteResult(record, (event,), _order_changes(record, customer, lines))


# --- helpers inside a transaction ----------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _money(value: Decimal) -> str:
    return format(value.quantize(CENT), "f")


def _event(kind: str, now: datetime, data: dict[str, Any]) -> BusinessEvent:
    return BusinessEvent(id=str(uuid.uuid4()), type=kind, occurred_at=now, data=data)


async def _next_number(conn: AsyncConnection, kind: str) -> str:
    """The next ``C-NNNNNN`` / ``SO-NNNNNN`` after the highest in the core."""
    column, prefix = (
        (customers.c.account_number, "C-") if kind == "customer" else (orders.c.order_number, "SO-")
    )
    if conn.dialect.name == "postgresql":
        # Two gateway writers wait for each other here instead of colliding on
        # the unique key; released at commit or rollback.
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _NUMBER_LOCKS[kind]})
    width = len(prefix) + 6
    highest = (
        await conn.execute(
            select(func.max(column)).where(column.like(f"{prefix}%"), func.length(column) == width)
        )
    ).scalar_one_or_none()
    last = int(highest[len(prefix) :]) if highest and highest[len(prefix) :].isdigit() else 0
    return f"{prefix}{last + 1:06d}"


def _is_unique_violation(exc: BaseException) -> bool:
    return isinstance(exc.__cause__, sa_exc.IntegrityError)


async def _customer_by(conn: AsyncConnection, condition: Any) -> CustomerRecord:
    row = (await conn.execute(select(customers).where(condition))).one()
    return _customer(row._mapping)


async def _customer_or_none(conn: AsyncConnection, account_number: str) -> CustomerRecord | None:
    row = (
        await conn.execute(select(customers).where(customers.c.account_number == account_number))
    ).one_or_none()
    return None if row is None else _customer(row._mapping)


async def _lock_customer(conn: AsyncConnection, customer_id: int) -> CustomerRecord:
    # FOR UPDATE: two orders of one customer are credit-checked one after the other.
    row = (
        await conn.execute(select(customers).where(customers.c.id == customer_id).with_for_update())
    ).one()
    return _customer(row._mapping)


async def _order_by(conn: AsyncConnection, order_id: int) -> OrderRecord:
    row = (await conn.execute(select(orders).where(orders.c.id == order_id))).one()
    return _order(row._mapping)


async def _lock_order(conn: AsyncConnection, order_number: str) -> OrderRecord:
    row = (
        await conn.execute(
            select(orders).where(orders.c.order_number == order_number).with_for_update()
        )
    ).one_or_none()
    if row is None:
        raise WriteRejected(
            WriteErrorCode.NOT_FOUND, "no order has this order number", "input.orderNumber"
        )
    return _order(row._mapping)


def _expect_status(order: OrderRecord, wanted: str, target: str) -> None:
    if order.status != wanted:
        raise WriteRejected(
            WriteErrorCode.INVALID_STATE,
            f"only a {wanted} order can become {target}; this one is {order.status}",
            "input.orderNumber",
        )


async def _lines_with_sku(conn: AsyncConnection, order_id: int) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(
            order_lines.c.id,
            order_lines.c.line_no,
            order_lines.c.product_id,
            order_lines.c.quantity,
            order_lines.c.unit_price,
            products.c.sku,
        )
        .select_from(order_lines.join(products, products.c.id == order_lines.c.product_id))
        .where(order_lines.c.order_id == order_id)
        .order_by(order_lines.c.line_no)
    )
    return [dict(row._mapping) for row in rows]


def _per_product(lines: Sequence[Mapping[str, Any]]) -> list[tuple[int, int, str]]:
    """(product id, total quantity, sku), by product id: one lock order for every writer."""
    totals: dict[int, tuple[int, str]] = {}
    for line in lines:
        quantity, _ = totals.get(line["product_id"], (0, line["sku"]))
        totals[line["product_id"]] = (quantity + line["quantity"], line["sku"])
    return [(pid, quantity, sku) for pid, (quantity, sku) in sorted(totals.items())]


async def _open_balance(conn: AsyncConnection, customer_id: int) -> Decimal:
    """Value of the customer's placed orders, summed in Python from exact Decimals."""
    rows = await conn.execute(
        select(order_lines.c.quantity, order_lines.c.unit_price)
        .select_from(orders.join(order_lines, order_lines.c.order_id == orders.c.id))
        .where(orders.c.customer_id == customer_id, orders.c.status == "placed")
    )
    return sum((row.unit_price * row.quantity for row in rows), Decimal(0)).quantize(CENT)


async def _set_order(
    conn: AsyncConnection, order: OrderRecord, *, status: str, now: datetime, **values: Any
) -> OrderRecord:
    # RETURNING: the changed row comes back with the update, one round trip.
    changed = (
        await conn.execute(
            update(orders)
            .where(orders.c.id == order.id, orders.c.row_version == order.row_version)
            .values(status=status, updated_at=now, row_version=orders.c.row_version + 1, **values)
            .returning(*orders.c)
        )
    ).one_or_none()
    if changed is None:  # only without row locks (never with FOR UPDATE held)
        raise WriteRejected(WriteErrorCode.CONFLICT, "the order changed concurrently; retry")
    return _order(changed._mapping)


async def _order_data(
    conn: AsyncConnection, order: OrderRecord, *, account_number: str | None = None
) -> dict[str, Any]:
    """The order as the gateway exposes it, for an event's ``data``.

    ``account_number`` is the order's customer's, when the caller has it at hand.
    """
    account = account_number
    if account is None:
        account = (
            await conn.execute(
                select(customers.c.account_number).where(customers.c.id == order.customer_id)
            )
        ).scalar_one()
    warehouse_code = None
    if order.warehouse_id is not None:
        warehouse_code = (
            await conn.execute(
                select(warehouses.c.code).where(warehouses.c.id == order.warehouse_id)
            )
        ).scalar_one()
    lines = await _lines_with_sku(conn, order.id)
    total = sum((line["unit_price"] * line["quantity"] for line in lines), Decimal(0))
    return {
        "order_number": order.order_number,
        "account_number": account,
        "status": order.status,
        "currency": order.currency,
        "warehouse_code": warehouse_code,
        "placed_at": None if order.placed_at is None else _iso(order.placed_at),
        "version": order.row_version,
        "created_at": _iso(order.created_at),
        "updated_at": _iso(order.updated_at),
        "lines": [
            {
                "line_no": line["line_no"],
                "sku": line["sku"],
                "quantity": line["quantity"],
                "unit_price": _money(line["unit_price"]),
                "line_total": _money(line["unit_price"] * line["quantity"]),
            }
            for line in lines
        ],
        "total": _money(total),
    }


def _customer_data(customer: CustomerRecord) -> dict[str, Any]:
    return {
        "account_number": customer.account_number,
        "name": customer.name,
        "email": customer.email,
        "segment": customer.segment,
        "credit_limit": _money(customer.credit_limit),
        "version": customer.row_version,
        "created_at": _iso(customer.created_at),
        "updated_at": _iso(customer.updated_at),
    }


def _order_changes(
    order: OrderRecord, customer: CustomerRecord, lines: Sequence[Mapping[str, Any]]
) -> frozenset[tuple[str, str]]:
    # The customer's open balance and each product's stock moved with the order.
    return frozenset(
        {("Order", order.order_number), ("Customer", customer.account_number)}
        | {("Product", str(line["sku"])) for line in lines}
    )


async def _audit(
    conn: AsyncConnection,
    actor: Actor,
    entity_type: str,
    entity_key: str,
    before: int | None,
    after: int | None,
    now: datetime,
) -> None:
    await conn.execute(
        insert(audit_log).values(
            occurred_at=now,
            client_id=actor.client_id,
            request_id=actor.request_id,
            mutation=actor.mutation,
            entity_type=entity_type,
            entity_key=entity_key,
            version_before=before,
            version_after=after,
        )
    )


async def _fence(conn: AsyncConnection, actor: Actor, entity_type: str, key: str) -> None:
    if actor.fence is not None:
        await actor.fence(conn, (entity_type, key))


async def _outbox(conn: AsyncConnection, event: BusinessEvent, entity_key: str) -> None:
    await conn.execute(
        insert(outbox).values(
            id=event.id,
            type=event.type,
            entity_key=entity_key,
            occurred_at=event.occurred_at,
            payload=orjson.dumps(event.envelope()).decode(),
            status="pending",
            attempts=0,
            next_attempt_at=event.occurred_at,
            created_at=event.occurred_at,
        )
    )


__all__ = [
    "Actor",
    "BusinessEvent",
    "CoreWriter",
    "DraftLine",
    "WriteErrorCode",
    "WriteFence",
    "WriteRejected",
    "WriteResult",
]
