"""The fence: an attempt that lost its Idempotency-Key can no longer commit a write.

A stalled owner (its heartbeat stopped: a paused process, a partition) is
the hard case of a lease: its key is taken over while it is still running.
Its write must then roll back, and the attempt that took over must see
every write that did commit before it. In process, on each backend, with
the store's claim and the core writer's real transactions.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from adapters.core import CoreAdapter
from adapters.core.gateway_tables import ensure_gateway_tables, idempotency_keys
from adapters.core.tables import customers
from adapters.core.writes import Actor, CoreWriter, WriteRejected
from gateway.http.idempotency import IdempotencyStore, KeyedRun
from tests.writes.support import scalar


async def _customers(core_url: str) -> int:
    return int(await scalar(core_url, select(func.count()).select_from(customers)))


async def _create(writer: CoreWriter, claim: KeyedRun, slot: str) -> str:
    claim.begin(slot)
    try:
        result = await writer.create_customer(
            Actor("test-client", "createCustomer", fence=claim.fence()),
            name="Fenced Ltd",
            email=None,
            segment="smb",
            credit_limit=Decimal("10.00"),
        )
    finally:
        claim.end()
    return result.record.account_number


async def test_a_taken_over_attempt_cannot_commit_and_the_heir_sees_what_did(
    core_url: str,
) -> None:
    async with CoreAdapter(core_url) as core:
        await ensure_gateway_tables(core)
        store = IdempotencyStore(core, lease=0.3, wait=0)
        writer = CoreWriter(core)
        before = await _customers(core_url)

        first = await store._claim("test-client", "lease-key", "digest")
        assert isinstance(first, KeyedRun)
        written = await _create(writer, first, "a")  # committed, recorded under "a"

        await asyncio.sleep(0.4)  # the first owner stalls: its lease runs out
        second = await store._claim("test-client", "lease-key", "digest")
        assert isinstance(second, KeyedRun) and second.owner != first.owner
        assert second.recorded("a") == ("Customer", written)  # the heir sees the write

        # The stalled owner wakes up and writes its next field: refused, rolled back.
        with pytest.raises(WriteRejected, match="taken over"):
            await _create(writer, first, "b")
        assert await _customers(core_url) == before + 1

        # The heir writes "b" once; a third attempt sees both.
        await _create(writer, second, "b")
        await asyncio.sleep(0.4)
        third = await store._claim("test-client", "lease-key", "digest")
        assert isinstance(third, KeyedRun)
        assert set(third.effects) == {"a", "b"}
        assert await _customers(core_url) == before + 2

        # A live owner's key is not taken: the claim sees the row, pending.
        live = await store._claim("test-client", "lease-key", "digest")
        assert isinstance(live, dict) and live["state"] == "pending"
        owner = await scalar(
            core_url,
            select(idempotency_keys.c.owner).where(idempotency_keys.c.key == "lease-key"),
        )
        assert owner == third.owner
