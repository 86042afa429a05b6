"""Single-flight: concurrent identical misses share one backend call, across requests."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gateway.caching.bolt_on import BoltOnCache, CachePolicy, MemoryStorage
from plugins.pricing import PRICES
from simulators.runner import Simulators
from tests.caching.support import SKUS, cached_backends, prices


async def test_200_concurrent_cold_requests_make_one_pricing_call(
    sims: Simulators, tmp_path: Path
) -> None:
    sims.pricing.state.configure(latency=0.05)
    async with cached_backends(tmp_path, sims) as backends:
        answers = await asyncio.gather(*(prices(backends, SKUS) for _ in range(200)))
    assert all(answer == answers[0] for answer in answers)
    assert sims.pricing.state.count("listPrices") == 1
    assert sims.pricing.state.batches("listPrices") == [SKUS]


async def test_coalescing_works_with_caching_off_too(sims: Simulators, tmp_path: Path) -> None:
    sims.pricing.state.configure(latency=0.05)
    async with cached_backends(tmp_path, sims, cache_ttls={"pricing": 0}) as backends:
        await asyncio.gather(*(prices(backends, SKUS) for _ in range(50)))
        await prices(backends, SKUS)  # nothing stored: a later request calls again
    assert sims.pricing.state.count("listPrices") == 2


async def test_an_overlapping_batch_asks_only_for_the_keys_nobody_is_fetching(
    sims: Simulators, tmp_path: Path
) -> None:
    sims.pricing.state.configure(latency=0.05)
    async with cached_backends(tmp_path, sims) as backends:
        first = asyncio.ensure_future(prices(backends, SKUS[:10]))
        await asyncio.sleep(0.01)  # the first request's call is out
        second = await prices(backends, SKUS[:12])
        assert await first == second[:10]
    assert sims.pricing.state.batches("listPrices") == [SKUS[:10], SKUS[10:12]]


async def test_a_cancelled_caller_does_not_strand_those_who_joined_it() -> None:
    cache = BoltOnCache(MemoryStorage(), {PRICES.label: CachePolicy(ttl=60)})
    calls = 0

    async def slow_fetch(keys: list[str]) -> list[object]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return [f"price of {key}" for key in keys]

    owner = asyncio.ensure_future(cache.get_many(PRICES, ["SKU-1"], slow_fetch, variant="USD"))
    await asyncio.sleep(0.01)
    joiner = asyncio.ensure_future(cache.get_many(PRICES, ["SKU-1"], slow_fetch, variant="USD"))
    await asyncio.sleep(0.01)
    owner.cancel()
    assert await joiner == ["price of SKU-1"]
    assert calls == 1
    # ...and the answer was stored for the next request.
    assert await cache.get_many(PRICES, ["SKU-1"], slow_fetch, variant="USD") == ["price of SKU-1"]
    assert calls == 1
    await cache.aclose()


async def test_a_failed_flight_fails_every_joiner_and_is_not_stored() -> None:
    cache = BoltOnCache(MemoryStorage(), {PRICES.label: CachePolicy(ttl=60)})
    from adapters.errors import BackendUnavailable

    async def failing(keys: list[str]) -> list[object]:
        await asyncio.sleep(0.02)
        raise BackendUnavailable("pricing", "HTTP 503", status=503)

    results = await asyncio.gather(
        *(cache.get_many(PRICES, ["SKU-1"], failing, variant="USD") for _ in range(5)),
        return_exceptions=True,
    )
    assert all(isinstance(r, BackendUnavailable) for r in results)

    async def working(keys: list[str]) -> list[object]:
        return ["ok" for _ in keys]

    assert await cache.get_many(PRICES, ["SKU-1"], working, variant="USD") == ["ok"]
    await cache.aclose()
