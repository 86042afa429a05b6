"""Tables the gateway owns inside the core database, in their own ``MetaData``.

The core's tables are given and never altered (``core_metadata``); the
gateway keeps its own state beside them, in tables prefixed ``gateway_``:

- ``gateway_outbox``: business events written in the same transaction as
  the core change, delivered to the CRM by the dispatcher (at least once).
- ``gateway_audit_log``: who changed which entity, from which version to
  which, in the same transaction as the change.
- ``gateway_idempotency_keys``: the first response to a client's
  ``Idempotency-Key``, replayed for repeats until it expires; while the
  request runs, the lease of its owner and the writes it committed.

``ensure_gateway_tables()`` creates whatever is missing, tables and the
columns later versions added (idempotent: safe on every start-up, from
several processes at once).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    inspect,
    update,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeEngine

from adapters.core.adapter import CoreAdapter
from adapters.core.types import UTCDateTime
from adapters.errors import BackendUnavailable

gateway_metadata = MetaData()
"""Every gateway-owned table (never mixed with ``core_metadata``)."""


def _bigint() -> TypeEngine[int]:
    # On SQLite only a column typed exactly INTEGER autoincrements as the rowid.
    return BigInteger().with_variant(Integer(), "sqlite")


outbox = Table(
    "gateway_outbox",
    gateway_metadata,
    Column("id", Text, nullable=False),  # the event's UUID, also the CRM's dedup key
    Column("type", Text, nullable=False),
    Column("entity_key", Text, nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("payload", Text, nullable=False),  # the whole envelope, JSON
    # pending -> delivered, or pending -> failed after too many attempts
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    # A dispatcher's claim: others skip the row until the lease runs out.
    Column("claimed_by", Text, nullable=True),
    Column("claimed_until", UTCDateTime(), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("delivered_at", UTCDateTime(), nullable=True),
    PrimaryKeyConstraint("id", name="gateway_outbox_pkey"),
    Index("gateway_outbox_due_idx", "status", "next_attempt_at"),
)

audit_log = Table(
    "gateway_audit_log",
    gateway_metadata,
    Column("id", _bigint(), Identity(always=False), nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("client_id", Text, nullable=False),
    Column("request_id", Text, nullable=True),
    Column("mutation", Text, nullable=False),
    Column("entity_type", Text, nullable=False),
    Column("entity_key", Text, nullable=False),
    Column("version_before", Integer, nullable=True),
    Column("version_after", Integer, nullable=True),
    PrimaryKeyConstraint("id", name="gateway_audit_log_pkey"),
    Index("gateway_audit_log_entity_idx", "entity_type", "entity_key"),
)

idempotency_keys = Table(
    "gateway_idempotency_keys",
    gateway_metadata,
    Column("client_id", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("fingerprint", Text, nullable=False),
    Column("state", Text, nullable=False),  # pending | done
    Column("status_code", Integer, nullable=True),
    Column("media_type", Text, nullable=True),
    Column("body", LargeBinary, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    # The attempt running it (a random token) and until when it holds the key: a
    # dead owner's lease runs out and a retry takes over (gateway.http.idempotency).
    Column("owner", Text, nullable=True),
    Column("lease_until", UTCDateTime(), nullable=True),
    # What its write transactions committed, by root field: {"a": ["Order", "SO-1"]}.
    Column("effects", Text, nullable=True),
    PrimaryKeyConstraint("client_id", "key", name="gateway_idempotency_keys_pkey"),
    Index("gateway_idempotency_keys_expires_idx", "expires_at"),
)


async def ensure_gateway_tables(core: CoreAdapter) -> None:
    """Create the gateway's tables that are missing in the core database.

    Two processes starting at once may both try to create a table on
    PostgreSQL; the loser's duplicate-object error is harmless and ignored
    after a second, checking pass.

    Args:
        core: an open ``CoreAdapter``.
    """
    for attempt in range(2):
        try:
            async with core.transaction() as conn:
                await conn.run_sync(gateway_metadata.create_all)
                await conn.run_sync(_add_missing_columns)
            return
        except BackendUnavailable as exc:
            if attempt == 1 or not isinstance(exc.__cause__, sa_exc.DBAPIError):
                raise


#: Columns added since a table was first shipped: (table, column, what old rows get).
_ADDED_COLUMNS: tuple[tuple[Table, str, str | None], ...] = (
    (idempotency_keys, "owner", None),
    # A pending key of an older version had no lease: it stays pending until it
    # expires, as it would have (no one can tell whether its write committed).
    (idempotency_keys, "lease_until", "expires_at"),
    (idempotency_keys, "effects", None),
)


def _add_missing_columns(conn: Connection) -> None:
    """``ALTER TABLE ... ADD COLUMN`` for each column an existing table lacks."""
    inspector = inspect(conn)
    present: dict[str, set[str]] = {}
    for table, column_name, backfill in _ADDED_COLUMNS:
        if table.name not in present:
            present[table.name] = {c["name"] for c in inspector.get_columns(table.name)}
        if column_name in present[table.name]:
            continue
        column = table.c[column_name]
        column_type = column.type.compile(dialect=conn.dialect)
        preparer = conn.dialect.identifier_preparer
        conn.exec_driver_sql(
            f"ALTER TABLE {preparer.format_table(table)} "
            f"ADD COLUMN {preparer.format_column(column)} {column_type}"
        )
        if backfill is not None:
            conn.execute(update(table).values({column_name: table.c[backfill]}))
        present[table.name].add(column_name)


__all__ = ["audit_log", "ensure_gateway_tables", "gateway_metadata", "idempotency_keys", "outbox"]
