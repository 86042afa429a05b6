"""Client idempotency: an ``Idempotency-Key`` header makes a mutation run once.

A client may send ``Idempotency-Key: <1..255 characters>`` with a mutation
(POST). Per client identity (``context.client_id``) and key:

- the first request inserts a ``pending`` row in ``gateway_idempotency_keys``
  *before* it runs, then stores its HTTP response (status, media type, body)
  and marks the row ``done``;
- a repeat with the same operation and variables gets that stored response
  back (header ``Idempotent-Replayed: true``) and writes nothing;
- the same key with another operation or other variables is refused:
  HTTP 422, ``extensions.code`` ``IDEMPOTENCY_KEY_REUSED``;
- a repeat while the first is still running waits for it (up to
  ``idempotency_wait`` seconds) and then replays it, or gets HTTP 409
  ``IDEMPOTENCY_KEY_IN_PROGRESS``: two concurrent duplicates never both run
  (the primary key on ``(client_id, key)`` lets only one insert win).

What is stored is the response, whatever it says: a payload with user
errors is a result, and replays as one (send a new key to try again). A
response the gateway could not produce (an exception, a 5xx) releases the
key instead. Rows live ``idempotency_ttl`` seconds; expired ones are
purged as new keys arrive. A process that dies between the core write and
storing its response leaves the key pending until it expires: the client
then sees 409, never a second execution.

Queries, GET requests and requests without the header are not affected.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from graphql import OperationType
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from adapters.core import CoreAdapter
from adapters.core.gateway_tables import idempotency_keys
from adapters.errors import BackendError
from gateway.errors import ErrorCode, RequestRejected
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


class IdempotencyStore:
    """Stored first responses per (client, key), in the core database.

    Args:
        core: the core adapter (the table lives beside the core's tables).
        ttl: seconds a key is remembered.
        wait: seconds a duplicate waits for the first request to finish.
    """

    def __init__(self, core: CoreAdapter, *, ttl: float = 86_400.0, wait: float = 5.0) -> None:
        self.core = core
        self.ttl = ttl
        self.wait = wait

    async def run_once(
        self,
        *,
        client_id: str,
        key: str,
        fingerprint: str,
        run: Callable[[], Awaitable[Reply]],
        replayed: OperationOutcome,
    ) -> Reply:
        """The stored response for (client, key), or ``run()``'s, stored for next time."""
        deadline = time.monotonic() + self.wait
        while True:
            existing = await self._claim(client_id, key, fingerprint)
            if existing is None:
                break  # ours: run it
            if existing["fingerprint"] != fingerprint:
                raise RequestRejected(
                    "this Idempotency-Key was already used with a different operation or "
                    "variables; use a new key for a new request",
                    status=422,
                    code=ErrorCode.IDEMPOTENCY_KEY_REUSED,
                )
            if existing["state"] == DONE:
                return Reply(
                    outcome=replayed,
                    body=existing["body"],
                    status=existing["status_code"],
                    headers={"Idempotent-Replayed": "true"},
                )
            if time.monotonic() >= deadline:
                raise RequestRejected(
                    "a request with this Idempotency-Key is still in progress; retry later",
                    status=409,
                    code=ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS,
                )
            await asyncio.sleep(0.05)

        try:
            reply = await run()
        except BaseException:
            await self._release(client_id, key)
            raise
        try:
            if reply.status >= 500 or reply.rejection is not None:
                await self._release(client_id, key)
            else:
                await self._store(client_id, key, reply)
        except BackendError as exc:
            # It ran: answer it. The key stays pending until it expires, so a
            # repeat gets 409 rather than a second execution.
            log.warning("could not store the response of an Idempotency-Key: %s", exc)
        return reply

    async def _claim(self, client_id: str, key: str, fingerprint: str) -> dict[str, Any] | None:
        """Insert our pending row; ``None`` if we got it, else the row already there."""
        now = _now()
        async with self.core.transaction() as conn:
            await conn.execute(delete(idempotency_keys).where(idempotency_keys.c.expires_at <= now))
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
                )
                .on_conflict_do_nothing()
            )
            if inserted.rowcount == 1:
                return None
            row = (
                await conn.execute(
                    select(idempotency_keys).where(
                        idempotency_keys.c.client_id == client_id, idempotency_keys.c.key == key
                    )
                )
            ).one_or_none()
        if row is None:
            # Deleted between our insert and our read (released or expired): try again.
            return {"fingerprint": fingerprint, "state": PENDING}
        return dict(row._mapping)

    async def _store(self, client_id: str, key: str, reply: Reply) -> None:
        async with self.core.transaction() as conn:
            await conn.execute(
                update(idempotency_keys)
                .where(idempotency_keys.c.client_id == client_id, idempotency_keys.c.key == key)
                .values(
                    state=DONE,
                    status_code=reply.status,
                    media_type="application/json",
                    body=reply.rendered(),
                )
            )

    async def _release(self, client_id: str, key: str) -> None:
        async with self.core.transaction() as conn:
            await conn.execute(
                delete(idempotency_keys).where(
                    idempotency_keys.c.client_id == client_id,
                    idempotency_keys.c.key == key,
                    idempotency_keys.c.state == PENDING,
                )
            )


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
        try:
            return await self.store.run_once(
                client_id=exchange.client_id,
                key=key,
                fingerprint=fingerprint(exchange.require_params()),
                run=lambda: call_next(exchange),
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


__all__ = ["HEADER", "Idempotency", "IdempotencyStore", "fingerprint"]
