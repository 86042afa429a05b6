"""Cross-request caching of bolt-on reads (in memory): keys, TTLs, misses and stale answers."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest

from adapters.errors import BackendUnavailable
from gateway.caching.bolt_on import BoltOnCache, CachePolicy, MemoryStorage
from gateway.loaders import Loaders
from plugins.pricing import PRICES
from plugins.shipping import SHIPMENTS
from simulators.runner import Simulators
from tests.caching.support import SKUS, cache_of, cached_backends, prices
from tests.support.simulators import PRICING_TOKEN


async def test_a_second_request_is_answered_from_the_cache(
    sims: Simulators, tmp_path: Path
) -> None:
    async with cached_backends(tmp_path, sims) as backends:
        first = await prices(backends, SKUS)
        second = await prices(backends, SKUS)
    assert first == second
    assert sum(p is not None for p in first) >= 18
    assert sims.pricing.state.count("listPrices") == 1


async def test_the_currency_is_part_of_the_key(sims: Simulators, tmp_path: Path) -> None:
    async with cached_backends(tmp_path, sims) as backends:
        usd = await prices(backends, SKUS[:3], "USD")
        eur = await prices(backends, SKUS[:3], "EUR")
        await prices(backends, SKUS[:3], "EUR")
    assert {p.currency for p in usd} == {"USD"}
    assert {p.currency for p in eur} == {"EUR"}
    assert sims.pricing.state.count("listPrices") == 2


async def test_the_credential_is_part_of_the_key_but_never_the_token(
    sims: Simulators, tmp_path: Path
) -> None:
    storage = MemoryStorage()
    policies = {PRICES.label: CachePolicy(ttl=60)}
    one = BoltOnCache(storage, policies, credentials={"pricing": "hash-of-token-a"})
    other = BoltOnCache(storage, policies, credentials={"pricing": "hash-of-token-b"})
    calls: list[list[str]] = []

    async def fetch(keys: list[str]) -> list[object]:
        calls.append(keys)
        return [f"price of {key}" for key in keys]

    await one.get_many(PRICES, ["SKU-1"], fetch, variant="USD")
    await one.get_many(PRICES, ["SKU-1"], fetch, variant="USD")
    await other.get_many(PRICES, ["SKU-1"], fetch, variant="USD")
    assert calls == [["SKU-1"], ["SKU-1"]]
    async with cached_backends(tmp_path, sims) as backends:
        credential = backends.pricing.credential_id
        assert len(credential) == 16
        assert PRICING_TOKEN not in credential
        assert credential != backends.shipping.credential_id


async def test_a_cached_none_is_an_answer_not_a_miss(sims: Simulators, tmp_path: Path) -> None:
    async with cached_backends(tmp_path, sims) as backends:
        for _ in range(3):
            assert await Loaders(backends).shipment.load("SO-000005") is None  # placed
    assert sims.shipping.state.count("listShipments") == 1


async def test_entries_expire_after_their_ttl(sims: Simulators, tmp_path: Path) -> None:
    async with cached_backends(tmp_path, sims, cache_ttls={"pricing": 0.2}) as backends:
        await prices(backends, SKUS[:2])
        await prices(backends, SKUS[:2])
        assert sims.pricing.state.count("listPrices") == 1
        await asyncio.sleep(0.25)
        await prices(backends, SKUS[:2])
    assert sims.pricing.state.count("listPrices") == 2


async def test_ttls_are_per_endpoint_and_zero_turns_caching_off(
    sims: Simulators, tmp_path: Path
) -> None:
    ttls = {"pricing": 60.0, "shipping.listShipments": 0.0, "shipping": 60.0}
    async with cached_backends(tmp_path, sims, cache_ttls=ttls) as backends:
        for _ in range(2):
            await prices(backends, SKUS[:2])
            await Loaders(backends).shipment.load("SO-000004")
    assert sims.pricing.state.count("listPrices") == 1
    assert sims.shipping.state.count("listShipments") == 2


async def test_caching_can_be_turned_off(sims: Simulators, tmp_path: Path) -> None:
    async with cached_backends(tmp_path, sims, cache_enabled=False) as backends:
        assert backends.cache is None
        await prices(backends, SKUS[:2])
        await prices(backends, SKUS[:2])
    assert sims.pricing.state.count("listPrices") == 2


async def test_a_failing_bolt_on_without_stale_serving_is_an_error(
    sims: Simulators, tmp_path: Path
) -> None:
    async with cached_backends(
        tmp_path, sims, cache_ttls={"pricing": 0.1}, retry_attempts=1
    ) as backends:
        await prices(backends, SKUS[:2])
        await asyncio.sleep(0.15)
        sims.pricing.state.configure(failure_rate=1.0)
        with pytest.raises(BackendUnavailable):
            await prices(backends, SKUS[:2])


async def test_stale_on_error_serves_the_last_good_value_flagged(
    sims: Simulators, tmp_path: Path
) -> None:
    async with cached_backends(
        tmp_path,
        sims,
        cache_ttls={"pricing": 0.1},
        cache_stale_on_error=["pricing"],
        retry_attempts=1,
    ) as backends:
        good = await prices(backends, SKUS[:2])
        await asyncio.sleep(0.15)
        sims.pricing.state.configure(failure_rate=1.0)
        extensions: dict[str, object] = {}
        stale = await prices(backends, SKUS[:2], extensions=extensions)
        sims.pricing.state.configure(failure_rate=0.0)
        fresh_extensions: dict[str, object] = {}
        await prices(backends, SKUS[:2], extensions=fresh_extensions)
    assert stale == good
    assert extensions["stale"] == [
        {"service": "pricing", "operation": "listPrices", "key": sku} for sku in SKUS[:2]
    ]
    assert fresh_extensions == {}, "a fresh answer after recovery is not flagged"
    assert sims.pricing.state.count("listPrices") == 3


async def test_stale_while_revalidate_answers_at_once_and_refreshes(
    sims: Simulators, tmp_path: Path
) -> None:
    async with cached_backends(
        tmp_path,
        sims,
        # Long enough that the refreshed entry is still fresh 0.4 s after the stale
        # read: with 0.1 s it expired again whenever the refresh landed quickly.
        cache_ttls={"pricing": 0.5},
        cache_stale_while_revalidate=["pricing"],
    ) as backends:
        await prices(backends, SKUS[:2])
        await asyncio.sleep(0.55)
        sims.pricing.state.configure(latency=0.3)
        started = time.perf_counter()
        extensions: dict[str, object] = {}
        await prices(backends, SKUS[:2], extensions=extensions)
        elapsed = time.perf_counter() - started
        # Below the backend's 0.3 s latency: answered without waiting for it.
        assert elapsed < 0.25, "an expired entry must be answered without waiting"
        assert "stale" in extensions
        await asyncio.sleep(0.4)  # the background refresh lands
        assert sims.pricing.state.count("listPrices") == 2
        started = time.perf_counter()
        refreshed: dict[str, object] = {}
        await prices(backends, SKUS[:2], extensions=refreshed)
        assert time.perf_counter() - started < 0.25
    assert refreshed == {}
    assert sims.pricing.state.count("listPrices") == 2


async def test_insights_cache_per_account_and_keep_one_accounts_failure_its_own(
    sims: Simulators, tmp_path: Path
) -> None:
    async with cached_backends(tmp_path, sims) as backends:
        loaders = Loaders(backends)
        first = await asyncio.gather(
            loaders.insights.load("C-000001"), loaders.insights.load("nobody")
        )
        again = Loaders(backends)
        second = await asyncio.gather(
            again.insights.load("C-000001"), again.insights.load("nobody")
        )
    assert first == second
    assert first[0] is not None and first[1] is None
    assert sims.crm.state.count("getAccountInsights") == 2


async def test_redis_is_used_when_configured_and_memory_otherwise(
    sims: Simulators, tmp_path: Path
) -> None:
    async with cached_backends(tmp_path, sims) as backends:
        assert isinstance(cache_of(backends).storage, MemoryStorage)
    assert SHIPMENTS.label == "shipping.listShipments"
    assert uuid  # imported for the redis tests' namespaces
