"""An Idempotency-Key survives ``kill -9`` of its worker: the retry completes it exactly once.

Real processes: ``gateway serve`` on a fresh core (SQLite and PostgreSQL),
a keyed mutation made to hang, ``SIGKILL``, a restart on the same port,
and the client's retry with the same key. Two places to die:

- mid-transaction, before the commit (a lock held by the test stops the
  write): nothing committed, so the retry runs the mutation, once;
- after the commit, before the response was stored (a bolt-on field of the
  payload hangs): the retry must not write again, and answers with what
  the first attempt committed.

Either way the retry waits out the dead owner's lease (2 s here) within
its ``idempotency_wait`` and then answers 200; a second retry replays.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.core import create_core_engine
from adapters.core.gateway_tables import audit_log
from adapters.core.tables import orders
from simulators.runner import Simulators
from tests.support.gateway import AUTH_HEADERS
from tests.support.served import ServedGateway, restart, served_env, served_gateway
from tests.writes.support import rows, scalar, stock

LEASE = "2"

CREATE_ORDER = """
mutation Create($input: CreateOrderInput!) {
  createOrder(input: $input) {
    order { orderNumber status customer { accountNumber insights { healthScore } } }
    userErrors { field code }
  }
}"""
PLACE_ORDER = """
mutation Place($input: PlaceOrderInput!) {
  placeOrder(input: $input) { order { orderNumber status version } userErrors { field code } }
}"""


def _env(core_url: str, sims: Simulators) -> dict[str, str]:
    return served_env(
        core_url,
        sims,
        GATEWAY_IDEMPOTENCY_LEASE=LEASE,
        GATEWAY_IDEMPOTENCY_WAIT="20",
        GATEWAY_CRM_TIMEOUT="120",
        GATEWAY_PRICING_TIMEOUT="30",
        GATEWAY_CORE_STATEMENT_TIMEOUT="120",
        GATEWAY_RETRY_ATTEMPTS="1",
    )


def _post(gateway: ServedGateway, document: str, variables: dict[str, Any], key: str) -> Any:
    return httpx.post(
        f"{gateway.url}/graphql",
        json={"query": document, "variables": variables},
        headers={**AUTH_HEADERS, "Idempotency-Key": key},
        timeout=120,
    )


async def _until(check: Callable[[], Awaitable[bool]], within: float = 60) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s")
        await asyncio.sleep(0.1)


async def _orders(core_url: str) -> int:
    return int(await scalar(core_url, select(func.count()).select_from(orders)))


async def _audited(core_url: str, mutation: str) -> int:
    statement = select(func.count()).select_from(audit_log).where(audit_log.c.mutation == mutation)
    return int(await scalar(core_url, statement))


async def test_killed_after_the_commit_the_retry_answers_without_writing_again(
    core_url: str, sims: Simulators, tmp_path: Path
) -> None:
    before = await _orders(core_url)
    variables = {
        "input": {"accountNumber": "C-000001", "lines": [{"sku": "SKU-00001", "quantity": 2}]}
    }
    sims.crm.state.configure(hang=True, hang_seconds=120)  # the payload's insights hang
    with served_gateway(_env(core_url, sims), tmp_path) as gateway:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            first = pool.submit(_post, gateway, CREATE_ORDER, variables, "crash-after-commit")

            async def committed() -> bool:
                return await _orders(core_url) == before + 1

            await _until(committed)
            await asyncio.sleep(0.3)  # well inside the payload's CRM call
            gateway.kill()
            with pytest.raises(httpx.HTTPError):
                first.result()
        sims.crm.state.configure(hang=False)
        [number] = await rows(
            core_url, select(orders.c.order_number).order_by(orders.c.id.desc()).limit(1)
        )

        with restart(gateway, tmp_path) as again:
            retried = _post(again, CREATE_ORDER, variables, "crash-after-commit")
            assert retried.status_code == 200, retried.text
            payload = retried.json()["data"]["createOrder"]
            assert payload["userErrors"] == []
            assert payload["order"]["orderNumber"] == number[0]  # the committed one
            assert payload["order"]["customer"]["insights"]["healthScore"] >= 0
            assert "took over an Idempotency-Key" in again.output()

            replayed = _post(again, CREATE_ORDER, variables, "crash-after-commit")
            assert replayed.headers["idempotent-replayed"] == "true"
            assert replayed.content == retried.content

    assert await _orders(core_url) == before + 1  # never both
    assert await _audited(core_url, "createOrder") == 1


@pytest.fixture
async def draft(core_url: str) -> str:
    """A draft order of the seeded core, its number."""
    [row] = await rows(
        core_url,
        select(orders.c.order_number)
        .where(orders.c.status == "draft")
        .order_by(orders.c.id)
        .limit(1),
    )
    return str(row[0])


async def test_killed_mid_transaction_the_retry_runs_it_once(
    core_url: str, sims: Simulators, tmp_path: Path, draft: str, backend_name: str
) -> None:
    [(warehouse_code,)] = await rows(
        core_url, text("SELECT code FROM warehouses ORDER BY id LIMIT 1")
    )
    lines = await rows(
        core_url,
        text(
            "SELECT p.sku, l.quantity FROM order_lines l JOIN products p ON p.id = l.product_id "
            "JOIN orders o ON o.id = l.order_id WHERE o.order_number = :n"
        ).bindparams(n=draft),
    )
    stock_before = {sku: await stock(core_url, sku, warehouse_code) for sku, _ in lines}
    variables = {"input": {"orderNumber": draft, "warehouseCode": warehouse_code}}

    # The quote takes 2 s: time to take the lock between the key's claim and the write.
    sims.pricing.state.configure(latency=2.0)
    with served_gateway(_env(core_url, sims), tmp_path) as gateway:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            first = pool.submit(_post, gateway, PLACE_ORDER, variables, "crash-mid-transaction")
            async with _holding_the_write_lock(core_url, draft, sims) as blocked:
                await _until(blocked)  # its transaction waits for our lock
                await asyncio.sleep(0.5)
                gateway.kill()
                with pytest.raises(httpx.HTTPError):
                    first.result()
        # Nothing of the first attempt committed.
        assert await _audited(core_url, "placeOrder") == 0

        with restart(gateway, tmp_path) as again:
            started = time.monotonic()
            retried = _post(again, PLACE_ORDER, variables, "crash-mid-transaction")
            waited = time.monotonic() - started
            assert retried.status_code == 200, retried.text
            payload = retried.json()["data"]["placeOrder"]
            assert payload["userErrors"] == [] and payload["order"]["status"] == "PLACED"
            print(f"{backend_name}: the retry after kill -9 answered in {waited:.1f} s")
            replayed = _post(again, PLACE_ORDER, variables, "crash-mid-transaction")
            assert replayed.headers["idempotent-replayed"] == "true"

    assert await _audited(core_url, "placeOrder") == 1  # never neither, never both
    for sku, _ in lines:
        on_hand, reserved = await stock(core_url, sku, warehouse_code)
        assert (on_hand, reserved) == (
            stock_before[sku][0],
            stock_before[sku][1] + sum(q for s, q in lines if s == sku),
        ), sku


@asynccontextmanager
async def _holding_the_write_lock(
    core_url: str, order_number: str, sims: Simulators
) -> AsyncIterator[Callable[[], Awaitable[bool]]]:
    """Hold what placeOrder's transaction needs, until the block ends.

    PostgreSQL: the order's row (``FOR UPDATE``); waiting is seen in
    ``pg_stat_activity``. SQLite: the database's write lock (``BEGIN
    IMMEDIATE``), taken once the key is claimed (the claim writes too) and
    while the quote is asked for; then the gateway waits in its own ``BEGIN
    IMMEDIATE``, after the quote.
    """
    if core_url.startswith("sqlite"):
        path = core_url.split("///", 1)[1]
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

        async def claimed() -> bool:
            found = connection.execute("SELECT count(*) FROM gateway_idempotency_keys").fetchone()
            return bool(found[0])

        await _until(claimed)
        connection.execute("BEGIN IMMEDIATE")
        requested = time.monotonic()

        async def quoted() -> bool:
            # Answered 2 s after it was asked; then the write transaction begins.
            return sims.pricing.state.total > 0 and time.monotonic() - requested > 3.5

        try:
            yield quoted
        finally:
            connection.execute("ROLLBACK")
            connection.close()
        return

    engine = create_core_engine(core_url, pool_size=1)
    try:
        async with engine.connect() as holder:
            transaction = await holder.begin()
            await holder.execute(
                select(orders.c.id).where(orders.c.order_number == order_number).with_for_update()
            )

            async def waiting() -> bool:
                return await _lock_waiters(holder) > 0

            try:
                yield waiting
            finally:
                await transaction.rollback()
    finally:
        await engine.dispose()


async def _lock_waiters(conn: AsyncConnection) -> int:
    found = await conn.execute(
        text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND pid <> pg_backend_pid()"
        )
    )
    return int(found.scalar_one())
