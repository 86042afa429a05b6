"""The outbox dispatcher: business events from ``gateway_outbox`` to the CRM.

Writes append their event to ``gateway_outbox`` in the same transaction as
the core change (``adapters.core.writes``); this module delivers them to
the CRM's ``POST /v1/events`` at least once (the CRM de-duplicates by id).

One ``OutboxDispatcher`` runs per process, started and stopped by the app's
lifespan. Each round it

1. claims a batch of due events in a short transaction: on PostgreSQL
   ``SELECT ... FOR UPDATE SKIP LOCKED`` picks rows no other dispatcher is
   claiming, and the claim (``claimed_by``, ``claimed_until``) keeps them
   off other dispatchers' rounds for a lease; on SQLite (one process)
   writers are serialised anyway;
2. sends them in order of creation, outside any transaction;
3. marks each delivered, or schedules its retry with exponential backoff
   (``next_attempt_at``); after ``max_attempts`` failures it becomes
   ``failed`` (``gateway outbox replay`` re-queues those).

All state is in the table: a restarted process carries on where the last
one stopped; a claim whose dispatcher died expires with its lease. A write
in this process wakes the dispatcher at once; others poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import func, or_, select, update

from adapters.core import CoreAdapter
from adapters.core.gateway_tables import outbox
from adapters.crm import CrmAdapter
from adapters.errors import BackendError

#: Longest pause between rounds while they fail: the core's return is noticed this fast.
_OUTAGE_MAX_WAIT = 30.0

log = logging.getLogger("gateway.writes.outbox")

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """How the outbox stands: counts per status and the age of the oldest pending event."""

    pending: int
    failed: int
    delivered: int
    oldest_pending_age: float | None


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime


class OutboxDispatcher:
    """Deliver pending outbox events to the CRM, with retries and backoff.

    Args:
        core: the core adapter (the outbox lives in the core database).
        crm: where events go.
        batch_size: events claimed per round.
        max_attempts: failures after which an event is ``failed``.
        backoff_base: seconds before the first retry; doubles per failure.
        backoff_max: the longest wait between two attempts.
        lease: seconds a claim keeps other dispatchers off an event.
        poll_interval: seconds between rounds when idle (a local write wakes it early).
        name: this dispatcher's id in ``claimed_by``.

    Example:
        >>> dispatcher = OutboxDispatcher(core, crm)
        >>> dispatcher.start()
        >>> ...
        >>> await dispatcher.stop()
    """

    def __init__(
        self,
        core: CoreAdapter,
        crm: CrmAdapter,
        *,
        batch_size: int = 50,
        max_attempts: int = 10,
        backoff_base: float = 1.0,
        backoff_max: float = 300.0,
        lease: float = 30.0,
        poll_interval: float = 1.0,
        name: str | None = None,
    ) -> None:
        self.core = core
        self.crm = crm
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.lease = lease
        self.poll_interval = poll_interval
        self.name = name or f"dispatcher-{uuid.uuid4().hex[:12]}"
        #: Events this dispatcher delivered, and failed attempts, since it was made.
        self.delivered = 0
        self.failures = 0
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Run rounds in a background task until ``stop()``."""
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name=f"outbox {self.name}")

    async def stop(self, grace: float = 5.0) -> None:
        """Finish the round in progress (up to ``grace`` seconds), then stop.

        Events claimed but not delivered when the time is up stay pending and
        are picked up again when their lease runs out.
        """
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        try:
            await asyncio.wait_for(asyncio.shield(task), grace)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def wake(self) -> None:
        """Start the next round now (a write just committed an event)."""
        self._wake.set()

    async def _run(self) -> None:
        failed_rounds = 0
        while not self._stopping:
            self._wake.clear()
            try:
                handled = await self.run_once()
            except BackendError as exc:
                failed_rounds += 1
                if failed_rounds == 1:
                    # Once per outage, not once per round: the next line says it is over.
                    log.warning("outbox rounds failing (%s); backing off until they succeed", exc)
                handled = 0
            except Exception:
                failed_rounds += 1
                log.exception("outbox round failed unexpectedly")
                handled = 0
            else:
                if failed_rounds:
                    log.warning("outbox rounds succeed again after %d failed", failed_rounds)
                failed_rounds = 0
            if handled >= self.batch_size:
                continue  # more may be due right now
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.idle_wait(failed_rounds))

    def idle_wait(self, failed_rounds: int) -> float:
        """Seconds until the next round: the poll interval, doubling while rounds fail."""
        if not failed_rounds:
            return self.poll_interval
        backoff = self.poll_interval * 2.0 ** min(failed_rounds, 16)
        return min(backoff, max(self.poll_interval, _OUTAGE_MAX_WAIT))

    async def run_once(self) -> int:
        """One round: claim due events, send them, record the outcomes. Returns how many."""
        claimed = await self._claim()
        for event in claimed:
            try:
                await self.crm.send_event(event.payload)
            except BackendError as exc:
                self.failures += 1
                await self._failed(event, exc)
            else:
                self.delivered += 1
                await self._delivered(event)
        return len(claimed)

    async def _claim(self) -> list[_Claimed]:
        now = _now()
        due = (
            select(outbox.c.id)
            .where(
                outbox.c.status == PENDING,
                outbox.c.next_attempt_at <= now,
                or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now),
            )
            .order_by(outbox.c.created_at)
            .limit(self.batch_size)
            # Rows another dispatcher is claiming right now are skipped, not waited for
            # (PostgreSQL; SQLite renders no FOR UPDATE and serialises writers anyway).
            .with_for_update(skip_locked=True)
        )
        statement = (
            update(outbox)
            .where(outbox.c.id.in_(due))
            .values(claimed_by=self.name, claimed_until=now + timedelta(seconds=self.lease))
            .returning(outbox.c.id, outbox.c.payload, outbox.c.attempts, outbox.c.created_at)
        )
        async with self.core.transaction() as conn:
            rows = (await conn.execute(statement)).all()
        claimed = [
            _Claimed(row.id, orjson.loads(row.payload), row.attempts, row.created_at)
            for row in rows
        ]
        return sorted(claimed, key=lambda event: (event.created_at, event.id))

    async def _delivered(self, event: _Claimed) -> None:
        async with self.core.transaction() as conn:
            await conn.execute(
                update(outbox)
                .where(outbox.c.id == event.id, outbox.c.claimed_by == self.name)
                .values(
                    status=DELIVERED,
                    delivered_at=_now(),
                    attempts=event.attempts + 1,
                    claimed_by=None,
                    claimed_until=None,
                    last_error=None,
                )
            )

    async def _failed(self, event: _Claimed, error: BackendError) -> None:
        attempts = event.attempts + 1
        delay = self.backoff_delay(attempts)
        status = FAILED if attempts >= self.max_attempts else PENDING
        log.warning(
            "event %s (%s) not delivered, attempt %d: %s",
            event.id,
            event.payload.get("type"),
            attempts,
            error,
        )
        async with self.core.transaction() as conn:
            await conn.execute(
                update(outbox)
                .where(outbox.c.id == event.id, outbox.c.claimed_by == self.name)
                .values(
                    status=status,
                    attempts=attempts,
                    next_attempt_at=_now() + timedelta(seconds=delay),
                    claimed_by=None,
                    claimed_until=None,
                    # The error's text names the service and a status, never a body.
                    last_error=str(error)[:500],
                )
            )

    def backoff_delay(self, attempts: int) -> float:
        """Seconds before the next attempt after ``attempts`` failures."""
        exponent = min(attempts - 1, 30)
        return float(min(self.backoff_base * 2**exponent, self.backoff_max))


async def outbox_stats(core: CoreAdapter) -> OutboxStats:
    """Counts per status and the age (seconds) of the oldest pending event."""
    async with core.transaction() as conn:
        rows = await conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status))
        counts: dict[str, int] = {row[0]: int(row[1]) for row in rows}
        oldest = (
            await conn.execute(
                select(func.min(outbox.c.created_at)).where(outbox.c.status == PENDING)
            )
        ).scalar_one_or_none()
    age = None
    if oldest is not None:
        moment = oldest if isinstance(oldest, datetime) else datetime.fromisoformat(str(oldest))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        age = max(0.0, (_now() - moment).total_seconds())
    return OutboxStats(
        pending=int(counts.get(PENDING, 0)),
        failed=int(counts.get(FAILED, 0)),
        delivered=int(counts.get(DELIVERED, 0)),
        oldest_pending_age=age,
    )


async def replay_failed(core: CoreAdapter, ids: Sequence[str] = ()) -> int:
    """Put failed events back in the queue, due now, attempts reset. Returns how many.

    Args:
        ids: only these events; every failed one when empty.
    """
    statement = update(outbox).where(outbox.c.status == FAILED)
    if ids:
        statement = statement.where(outbox.c.id.in_(list(ids)))
    async with core.transaction() as conn:
        result = await conn.execute(
            statement.values(
                status=PENDING,
                attempts=0,
                next_attempt_at=_now(),
                claimed_by=None,
                claimed_until=None,
            )
        )
    return int(result.rowcount)


def _now() -> datetime:
    return datetime.now(UTC)


__all__ = [
    "DELIVERED",
    "FAILED",
    "PENDING",
    "OutboxDispatcher",
    "OutboxStats",
    "outbox_stats",
    "replay_failed",
]
