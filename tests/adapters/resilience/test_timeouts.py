"""Timeouts: one attempt's read budget, the total budget, and the connect budget."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator

import pytest

from adapters.errors import BackendTimeout
from adapters.pricing import PricingAdapter
from adapters.resilience import QUEUE_TIMEOUT, CircuitBreaker, RetryPolicy
from simulators.runner import Simulators
from tests.support.bolt_ons import crm, pricing, resilience


async def test_a_hanging_backend_costs_at_most_the_total_budget(sims: Simulators) -> None:
    sims.pricing.state.configure(hang=True)
    async with pricing(sims, resilience("pricing", total_timeout=0.3)) as adapter:
        started = time.perf_counter()
        with pytest.raises(BackendTimeout):
            await adapter.prices(["SKU-00001"])
        elapsed = time.perf_counter() - started
    assert 0.3 <= elapsed < 0.9  # the hang itself lasts 30 s


async def test_the_read_timeout_ends_one_attempt_and_the_next_is_tried(sims: Simulators) -> None:
    sims.pricing.state.configure(hang=True)
    policy = RetryPolicy(attempts=3, base_delay=0.001)
    res = resilience("pricing", retry=policy, total_timeout=5.0)
    async with pricing(sims, res, timeout=5.0, read_timeout=0.1) as adapter:
        started = time.perf_counter()
        with pytest.raises(BackendTimeout):
            await adapter.prices(["SKU-00001"])
        elapsed = time.perf_counter() - started
    # A read timeout is not a connect error: the backend may have acted on it, so no retry.
    assert sims.pricing.state.count("listPrices") == 1
    assert elapsed < 0.9


async def test_retries_stop_at_the_total_budget(sims: Simulators) -> None:
    sims.pricing.state.configure(latency=0.15, failure_rate=1.0, failure_status=503)
    policy = RetryPolicy(attempts=10, base_delay=0.001)
    async with pricing(sims, resilience("pricing", retry=policy, total_timeout=0.4)) as adapter:
        started = time.perf_counter()
        with pytest.raises(BackendTimeout):
            await adapter.prices(["SKU-00001"])
        elapsed = time.perf_counter() - started
    assert elapsed < 0.9
    assert 2 <= sims.pricing.state.count("listPrices") <= 3


@pytest.fixture
def unanswered_listener() -> Iterator[str]:
    """A listener whose backlog is full: new connections are never accepted (SYNs dropped)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    host, port = server.getsockname()
    fillers = []
    for _ in range(4):
        filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect((host, port))
        fillers.append(filler)
    try:
        yield f"http://{host}:{port}"
    finally:
        for filler in fillers:
            filler.close()
        server.close()


async def test_the_connect_timeout_bounds_opening_a_connection(unanswered_listener: str) -> None:
    adapter = PricingAdapter(
        unanswered_listener,
        token="t",
        timeout=5.0,
        connect_timeout=0.2,
        resilience=resilience("pricing", retry=RetryPolicy(attempts=1), total_timeout=5.0),
    )
    async with adapter:
        started = time.perf_counter()
        with pytest.raises(BackendTimeout):
            await adapter.prices(["SKU-00001"])
        elapsed = time.perf_counter() - started
    assert 0.15 <= elapsed < 1.0


async def test_the_budget_covers_the_wait_for_the_adapters_own_bound(sims: Simulators) -> None:
    """The CRM's per-process bound is waited for inside the budget, and such waits are ours.

    Three insights calls, one slot, a hung CRM: each answers within its budget; the
    breaker counts the call that held the slot, not those whose budget ran out waiting.
    """
    sims.crm.state.configure(hang=True)
    breaker = CircuitBreaker("crm", failure_threshold=100)
    res = resilience("crm", retry=RetryPolicy(attempts=1), breaker=breaker, total_timeout=0.3)
    async with crm(sims, res, concurrency=1) as adapter:
        started = time.perf_counter()
        results = await adapter.insights(["C-000001", "C-000002", "C-000003"])
        elapsed = time.perf_counter() - started
    assert all(isinstance(result, BackendTimeout) for result in results)
    reasons = [r.reason for r in results if isinstance(r, BackendTimeout)]
    # The three budgets end together: as the holder lets go, a waiter may get the slot
    # an instant before its own budget ends ("timed out", counted like the holder).
    assert QUEUE_TIMEOUT in reasons
    assert set(reasons) <= {QUEUE_TIMEOUT, "timed out"}
    reached = reasons.count("timed out")
    assert sims.crm.state.count("getAccountInsights") <= reached
    assert breaker.window_counts() == (reached, reached)
    # Queued outside the budget the last one took three budgets (0.9 s); the margin
    # is for a loaded machine.
    assert elapsed < 0.3 + 0.4
