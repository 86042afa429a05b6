"""Client idempotency: an ``Idempotency-Key`` header makes a mutation run once.

A client may send ``Idempotency-Key: <1..255 characters>`` with a mutation
(POST). Per client identity (``context.client_id``) and key:

- the first request inserts a ``pending`` row in ``gateway_idempotency_keys``
  *before* it runs, owned by a random token with a *lease*
  (``idempotency_lease`` seconds, renewed every third of it while the owner
  runs), then stores its HTTP response (status, body) and marks the row
  ``done``;
- a repeat with the same operation and variables gets that stored response
  back (header ``Idempotent-Replayed: true``) and writes nothing;
- the same key with another operation or other variables is refused:
  HTTP 422, ``extensions.code`` ``IDEMPOTENCY_KEY_REUSED``;
- a repeat while the owner still holds the lease waits for it (up to
  ``idempotency_wait`` seconds) and then replays it, or gets HTTP 409
  ``IDEMPOTENCY_KEY_IN_PROGRESS``: two live duplicates never both run (the
  primary key on ``(client_id, key)`` lets only one insert win);
- a repeat after the lease ran out (its owner died: ``kill -9``, a lost
  host) *takes the key over* and runs the request again, but every root
  mutation field the dead owner committed is answered from what it wrote,
  not written again (``gateway.writes.replay``).

Why that is exactly once: each write transaction of a keyed request ends
with a *fence* (``KeyedRun.__call__``), which locks the key's row, checks
that this attempt still owns it, and records the field's write in the
row's ``effects``; the business rows, the audit row, the outbox event and
that record commit together or not at all. A takeover is one conditional
``UPDATE`` (owner unchanged and lease expired) on the same row. So an
attempt that lost its key cannot commit a write any more (its fence finds
another owner and rolls back), and an attempt that takes over sees every
write that committed before it (the fence's lock makes a takeover wait for
a write in flight, and the fence renews the lease, which the takeover then
finds unexpired). A field is written by exactly one attempt; the clocks of
the instances only decide how soon a dead owner's key is taken over.

What is stored is the response, whatever it says: a payload with user
errors is a result, and replays as one (send a new key to try again). A
response the gateway could not produce (an exception, a 5xx) releases the
key instead, unless a write of it committed: then its lease is ended, and
the next retry answers from the write. Rows live ``idempotency_ttl``
seconds; expired ones are purged as new keys arrive.

Queries, GET requests and requests without the header are not affected.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from graphql import OperationType
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.core import CoreAdapter
from adapters.core.gateway_tables import idempotency_keys
from adapters.core.writes import WriteErrorCode, WriteFence, WriteRejected
from adapters.errors import BackendError
from gateway.errors import ErrorCode, RequestRejected
from gateway.http.settings import HttpSettings
from gateway.pipeline import (
    Exchange,
    GraphQLRequest,
    Handler,
    OperationOutcome,
    Outcome,
    Reply,
    Transport,
)

log = logging.getLogger("gateway.http.idempotency")

HEADER = "idempotency-key"
MAX_KEY_LENGTH = 255

PENDING = "pending"
DONE = "done"

_LOST = (
    "this request's Idempotency-Key was taken over by a retry (the request outlived its "
    "lease); nothing was written here"
)


@dataclass
class KeyedRun:
    """One attempt's hold on a key: its owner token and the log of committed writes.

    The ``WriteLog`` of ``gateway.writes.replay``, and, called, the fence
    that ends each of its write transactions.
    """

    store: IdempotencyStore
    client_id: str
    key: str
    owner: str
    effects: dict[str, tuple[str, str]] = field(default_factory=dict)
    slot: str | None = None

    def recorded(self, slot: str) -> tuple[str, str] | None:
        return self.effects.get(slot)

    def begin(self, slot: str) -> None:
        self.slot = slot

    def end(self) -> None:
        self.slot = None

    def fence(self) -> WriteFence | None:
        return self if self.slot is not None else None

    async def __call__(self, conn: AsyncConnection, entity: tuple[str, str]) -> None:
        """The last statement of a write: still ours? then record it with the write."""
        assert self.slot is not None, "fence() hands this out only inside a slot"
        row = (
            await conn.execute(
                select(idempotency_keys.c.effects)
                .where(*self._ours(), idempotency_keys.c.state == PENDING)
                .with_for_update()
            )
        ).one_or_none()
        if row is None:
            raise WriteRejected(WriteErrorCode.CONFLICT, _LOST)
        effects = _effects(row.effects)
        effects[self.slot] = entity
        await conn.execute(
            update(idempotency_keys)
            .where(*self._ours())
            .values(effects=_dump(effects), lease_until=_now() + self.store.lease_delta)
        )

    def _ours(self) -> tuple[Any, ...]:
        return (
            idempotency_keys.c.client_id == self.client_id,
            idempotency_keys.c.key == self.key,
            idempotency_keys.c.owner == self.owner,
        )


class IdempotencyStore:
    """Stored first responses per (client, key), in the core database.

    Args:
        core: the core adapter (the table lives beside the core's tables).
        ttl: seconds a key is remembered.
        wait: seconds a duplicate waits for the first request to finish.
        lease: seconds an attempt holds a key without renewing it; a dead
            owner's key is taken over this long after its last renewal.
    """

    def __init__(
        self, core: CoreAdapter, *, ttl: float = 86_400.0, wait: float = 5.0, lease: float = 10.0
    ) -> None:
        self.core = core
        self.ttl = ttl
        self.wait = wait
        self.lease = lease
        self.lease_delta = timedelta(seconds=lease)

    @classmethod
    def from_settings(cls, settings: HttpSettings, core: CoreAdapter) -> IdempotencyStore:
        return cls(
            core,
            ttl=settings.idempotency_ttl,
            wait=settings.idempotency_wait,
            lease=settings.idempotency_lease,
        )

    async def run_once(
        self,
        *,
        client_id: str,
        key: str,
        fingerprint: str,
        run: Callable[[KeyedRun], Awaitable[Reply]],
        replayed: OperationOutcome,
    ) -> Reply:
        """The stored response for (client, key), or ``run()``'s, stored for next time."""
        deadline = time.monotonic() + self.wait
        while True:
            claim = await self._claim(client_id, key, fingerprint)
            if isinstance(claim, KeyedRun):
                break  # ours: run it
            if claim["fingerprint"] != fingerprint:
                raise RequestRejected(
                    "this Idempotency-Key was already used with a different operation or "
                    "variables; use a new key for a new request",
                    status=422,
                    code=ErrorCode.IDEMPOTENCY_KEY_REUSED,
                )
            if claim["state"] == DONE:
                return Reply(
                    outcome=replayed,
                    body=claim["body"],
                    status=claim["status_code"],
                    headers={"Idempotent-Replayed": "true"},
                )
            if time.monotonic() >= deadline:
                raise RequestRejected(
                    "a request with this Idempotency-Key is still in progress; retry later",
                    status=409,
                    code=ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS,
                )
            await asyncio.sleep(0.05)

        async with self._renewing(claim):
            try:
                reply = await run(claim)
            except BaseException:
                await self._release(claim)
                raise
        try:
            if reply.status >= 500 or reply.rejection is not None:
                await self._release(claim)
            else:
                await self._store(claim, reply)
        except BackendError as exc:
            # It ran: answer it. The key stays pending until its lease runs out;
            # then a retry answers from what this attempt wrote.
            log.warning("could not store the response of an Idempotency-Key: %s", exc)
        return reply

    async def _claim(self, client_id: str, key: str, fingerprint: str) -> KeyedRun | dict[str, Any]:
        """Our hold on the key (inserted, or taken over), else the row already there."""
        now = _now()
        owner = secrets.token_hex(16)
        async with self.core.transaction() as conn:
            await conn.execute(delete(idempotency_keys).where(idempotency_keys.c.expires_at <= now))
            if await self._insert(conn, client_id, key, fingerprint, owner, now):
                return KeyedRun(self, client_id, key, owner)
            where = (idempotency_keys.c.client_id == client_id, idempotency_keys.c.key == key)
            row = (await conn.execute(select(idempotency_keys).where(*where))).one_or_none()
            if row is None:
                # Deleted between our insert and our read (released or expired): try again.
                return {"fingerprint": fingerprint, "state": PENDING}
            existing = dict(row._mapping)
            lease_until = existing["lease_until"] or existing["expires_at"]
            if (
                existing["state"] != PENDING
                or existing["fingerprint"] != fingerprint
                or lease_until > now
            ):
                return existing
            taken, effects = await self._take_over(
                conn, client_id, key, existing["owner"], owner, now
            )
            if not taken:
                return {"fingerprint": fingerprint, "state": PENDING}  # look again
        recorded = _effects(effects)
        log.warning(
            "took over an Idempotency-Key whose owner's lease ran out (%d write(s) committed)",
            len(recorded),
        )
        return KeyedRun(self, client_id, key, owner, recorded)

    async def _insert(
        self,
        conn: AsyncConnection,
        client_id: str,
        key: str,
        fingerprint: str,
        owner: str,
        now: datetime,
    ) -> bool:
        """Insert a pending row for the key unless one exists; whether we did."""
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        inserted = await conn.execute(
            dialect.insert(idempotency_keys)
            .values(
                client_id=client_id,
                key=key,
                fingerprint=fingerprint,
                state=PENDING,
                created_at=now,
                expires_at=now + timedelta(seconds=self.ttl),
                owner=owner,
                lease_until=now + self.lease_delta,
            )
            .on_conflict_do_nothing()
        )
        return bool(inserted.rowcount == 1)

    async def _take_over(
        self,
        conn: AsyncConnection,
        client_id: str,
        key: str,
        previous_owner: Any,
        owner: str,
        now: datetime,
    ) -> tuple[bool, Any]:
        """Take a key whose owner's lease ran out, if no one else just did; its effects."""
        where = (idempotency_keys.c.client_id == client_id, idempotency_keys.c.key == key)
        taken = await conn.execute(
            update(idempotency_keys)
            .where(
                *where,
                idempotency_keys.c.state == PENDING,
                _same_owner(previous_owner),
                idempotency_keys.c.lease_until <= now,
            )
            .values(owner=owner, lease_until=now + self.lease_delta)
        )
        if taken.rowcount != 1:
            return False, None
        # Read under our own row lock: every write committed before the takeover.
        effects = (
            await conn.execute(select(idempotency_keys.c.effects).where(*where))
        ).scalar_one()
        return True, effects

    @contextlib.asynccontextmanager
    async def _renewing(self, claim: KeyedRun) -> AsyncIterator[None]:
        """Renew the lease every third of it while the attempt runs."""

        async def renew() -> None:
            while True:
                await asyncio.sleep(self.lease / 3)
                try:
                    async with self.core.transaction() as conn:
                        renewed = await conn.execute(
                            update(idempotency_keys)
                            .where(*claim._ours(), idempotency_keys.c.state == PENDING)
                            .values(lease_until=_now() + self.lease_delta)
                        )
                except BackendError as exc:
                    log.warning("could not renew an Idempotency-Key's lease: %s", exc)
                    continue
                if renewed.rowcount != 1:
                    return  # taken over: its writes will be refused by the fence

        task = asyncio.create_task(renew(), name="idempotency lease")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _store(self, claim: KeyedRun, reply: Reply) -> None:
        async with self.core.transaction() as conn:
            await conn.execute(
                update(idempotency_keys)
                .where(*claim._ours())
                .values(
                    state=DONE,
                    status_code=reply.status,
                    media_type="application/json",
                    body=reply.rendered(),
                    owner=None,
                    lease_until=None,
                )
            )

    async def _release(self, claim: KeyedRun) -> None:
        """Free the key for a retry; one with committed writes is only made takeable now."""
        async with self.core.transaction() as conn:
            freed = await conn.execute(
                delete(idempotency_keys).where(
                    *claim._ours(),
                    idempotency_keys.c.state == PENDING,
                    idempotency_keys.c.effects.is_(None),
                )
            )
            if freed.rowcount == 0:
                await conn.execute(
                    update(idempotency_keys)
                    .where(*claim._ours(), idempotency_keys.c.state == PENDING)
                    .values(lease_until=_now())
                )


def _same_owner(owner: str | None) -> Any:
    return (
        idempotency_keys.c.owner.is_(None) if owner is None else idempotency_keys.c.owner == owner
    )


def _effects(text: str | None) -> dict[str, tuple[str, str]]:
    if not text:
        return {}
    loaded: dict[str, list[str]] = orjson.loads(text)
    return {slot: (entity[0], entity[1]) for slot, entity in loaded.items()}


def _dump(effects: dict[str, tuple[str, str]]) -> str:
    return orjson.dumps({slot: list(entity) for slot, entity in effects.items()}).decode()


class Idempotency:
    """Step: a POSTed mutation with an ``Idempotency-Key`` runs once per client and key.

    Decided on the operation ``Resolve`` picked, so no document shape (several
    operations, fragments) gets around the key.

    Args:
        store: where keys and first responses live; ``None`` turns the header off.
    """

    def __init__(self, store: IdempotencyStore | None) -> None:
        self.store = store

    async def __call__(self, exchange: Exchange, call_next: Handler) -> Reply:
        key = exchange.connection.headers.get(HEADER)
        operation = exchange.require_operation()
        if (
            key is None
            or self.store is None
            or exchange.transport is not Transport.POST
            or operation.kind is not OperationType.MUTATION
        ):
            return await call_next(exchange)
        if exchange.in_batch:
            raise RequestRejected("Idempotency-Key: cannot be used with a batched request")
        if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
            raise RequestRejected(
                f"Idempotency-Key: must be 1 to {MAX_KEY_LENGTH} printable characters"
            )
        exchange.accepts_stream = False  # what is stored and replayed is one response
        context = exchange.require_context()

        async def run(claim: KeyedRun) -> Reply:
            context.idempotency = claim  # the resolvers' log of committed writes
            return await call_next(exchange)

        try:
            return await self.store.run_once(
                client_id=exchange.client_id,
                key=key,
                fingerprint=fingerprint(exchange.require_params()),
                run=run,
                replayed=OperationOutcome(
                    Outcome.OK,
                    operation=operation.name,
                    kind=operation.kind.value,
                    client_id=exchange.client_id,
                ),
            )
        except BackendError as exc:
            # The key table lives in the core: without it we cannot promise "once".
            raise RequestRejected(
                f"cannot check the Idempotency-Key: {exc}",
                status=503,
                code=exc.code,
                extensions=exc.extensions,
            ) from None


def fingerprint(graphql_request: GraphQLRequest) -> str:
    """A digest of what the request asks: document, variables and operation name."""
    canonical = orjson.dumps(
        {
            "query": graphql_request.query,
            "variables": graphql_request.variables or {},
            "operationName": graphql_request.operation_name,
        },
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(canonical).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


__all__ = ["HEADER", "Idempotency", "IdempotencyStore", "KeyedRun", "fingerprint"]
