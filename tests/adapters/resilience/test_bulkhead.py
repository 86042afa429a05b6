"""The bulkhead: bounded concurrent calls per bolt-on, so a slow one cannot spread."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from adapters.errors import BackendError, BackendUnavailable
from adapters.resilience import Bulkhead, RetryPolicy
from gateway.backends import Backends
from gateway.loaders import Loaders
from simulators.runner import Simulators
from tests.support.bolt_ons import backend_settings, pricing, resilience


async def test_concurrent_calls_never_exceed_the_limit(sims: Simulators) -> None:
    sims.pricing.state.configure(latency=0.05)
    bulkhead = Bulkhead("pricing", limit=4, max_wait=5.0)
    async with pricing(sims, resilience("pricing", bulkhead=bulkhead)) as adapter:
        results = await asyncio.gather(*(adapter.prices([f"SKU-{i:05d}"]) for i in range(1, 17)))
    assert all(price is not None for [price] in results)
    assert sims.pricing.state.count("listPrices") == 16
    assert sims.pricing.state.peak_in_flight == 4


async def test_a_full_bulkhead_fails_fast_after_its_wait(sims: Simulators) -> None:
    sims.pricing.state.configure(hang=True)
    bulkhead = Bulkhead("pricing", limit=2, max_wait=0.1)
    res = resilience("pricing", retry=RetryPolicy(attempts=1), bulkhead=bulkhead, total_timeout=3)
    async with pricing(sims, res) as adapter:
        hanging = [asyncio.create_task(adapter.prices(["SKU-00001"])) for _ in range(2)]
        await asyncio.sleep(0.05)
        started = time.perf_counter()
        with pytest.raises(BackendUnavailable) as raised:
            await adapter.prices(["SKU-00002"])
        waited = time.perf_counter() - started
        sims.pricing.state.configure(hang=False)
        await asyncio.gather(*hanging)
    assert raised.value.reason == "bulkhead full"
    assert 0.1 <= waited < 0.3
    assert sims.pricing.state.count("listPrices") == 2


async def test_a_hanging_bolt_on_does_not_slow_reads_of_another(
    sims: Simulators, tmp_path: Path
) -> None:
    """Pricing hangs under load; shipment reads (another bolt-on) stay as fast as alone."""
    settings = backend_settings(
        tmp_path,
        sims,
        pricing_timeout=1.0,
        bulkhead_limits={"pricing": 4, "shipping": 16},
        bulkhead_max_wait=0.2,
        cache_enabled=False,
    )
    async with Backends.from_settings(settings) as backends:
        alone = await _timed_shipments(backends)
        sims.pricing.state.configure(hang=True)
        stuck = [
            asyncio.ensure_future(Loaders(backends).price.load((f"SKU-{i:05d}", "USD")))
            for i in range(1, 41)
        ]
        await asyncio.sleep(0.05)
        beside = await _timed_shipments(backends)
        # The shipment reads finished while the Pricing calls holding its bulkhead hung.
        pending_when_done = sum(not future.done() for future in stuck)
        outcomes = await asyncio.gather(*stuck, return_exceptions=True)
    assert all(isinstance(o, BackendError) for o in outcomes)
    assert sims.pricing.state.peak_in_flight <= 4
    assert pending_when_done >= 4
    # Had they queued behind Pricing they would take its 1 s budget; the margin is for
    # a loaded CI machine, not a speed goal.
    assert beside < alone + 0.5, f"shipments took {beside:.3f}s beside a hung Pricing"


async def _timed_shipments(backends: Backends) -> float:
    started = time.perf_counter()
    for _ in range(5):
        await Loaders(backends).shipment.load("SO-000004")
    return (time.perf_counter() - started) / 5
