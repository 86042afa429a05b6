"""Cost-weighted rate limits per client: 429 with Retry-After, recovery, and one budget in Redis."""

from __future__ import annotations

import asyncio

import httpx

from gateway.limits.rate import MemoryRateLimiter, RedisRateLimiter
from simulators.runner import Simulators
from tests.support.gateway import bare_client, client_config, running_gateway, settings_for

#: costs 1 + 10 (warehouses is a list without `first`: the list estimate) = 11.
QUERY = {"query": "{ warehouses { code } }"}
OTHER_KEY = "gwk_other-client-key"


async def _spend(client: httpx.AsyncClient, times: int) -> list[httpx.Response]:
    return [await client.post("/graphql", json=QUERY) for _ in range(times)]


async def test_limit_hit_then_recovered(sqlite_core: str, sims: Simulators) -> None:
    from gateway.security.clients import hash_key

    other = client_config(id="other", key_hashes=[hash_key(OTHER_KEY)])
    settings = settings_for(
        sqlite_core,
        sims,
        clients=[client_config(), other],
        rate_limit_burst=50,
        rate_limit_per_second=20,
    )
    async with running_gateway(settings) as gateway:
        allowed = await _spend(gateway.client, 4)  # 44 of 50
        assert [r.status_code for r in allowed] == [200] * 4
        refused = await gateway.client.post("/graphql", json=QUERY)
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        error = refused.json()["errors"][0]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert "costs 11" in error["message"]
        # Another client has its own budget.
        async with bare_client(gateway, **{"X-Api-Key": OTHER_KEY}) as client:
            assert (await client.post("/graphql", json=QUERY)).status_code == 200
        await asyncio.sleep(0.5)  # 20 per second: 10 more, enough for 11 with the 6 left
        assert (await gateway.client.post("/graphql", json=QUERY)).status_code == 200


async def test_memory_bucket_refills() -> None:
    limiter = MemoryRateLimiter(burst=10, per_second=100.0)
    assert (await limiter.take("a", 10)).allowed
    refused = await limiter.take("a", 5)
    assert not refused.allowed and 0 < refused.retry_after <= 0.06
    await asyncio.sleep(0.06)
    assert (await limiter.take("a", 5)).allowed


async def test_redis_bucket_is_atomic_and_refills(redis_url: str, namespace: str) -> None:
    # 20 per second: a refill of 10 takes 0.5 s, longer than the burst below even on a
    # loaded machine, so the count of allowed takes depends on atomicity alone.
    limiter = RedisRateLimiter(redis_url, burst=100, per_second=20.0, prefix=f"{namespace}:")
    try:
        # 20 concurrent takes of 10 from 100: exactly 10 pass (the script is atomic).
        decisions = await asyncio.gather(*(limiter.take("a", 10) for _ in range(20)))
        assert sum(d.allowed for d in decisions) == 10
        refused = await limiter.take("a", 10)
        assert not refused.allowed and refused.retry_after > 0
        await asyncio.sleep(0.6)  # 20 per second: 12 back
        assert (await limiter.take("a", 10)).allowed
    finally:
        await limiter.aclose()


async def test_two_instances_share_one_budget_in_redis(
    sqlite_core: str, sims: Simulators, redis_url: str, namespace: str
) -> None:
    settings = settings_for(
        sqlite_core,
        sims,
        redis_url=redis_url,
        rate_limit_key_prefix=f"{namespace}:",
        apq_key_prefix=f"{namespace}:apq:",
        rate_limit_burst=50,
        rate_limit_per_second=0.01,  # no refill to speak of during the test
    )
    async with running_gateway(settings) as first, running_gateway(settings) as second:
        assert [r.status_code for r in await _spend(first.client, 2)] == [200, 200]
        assert [r.status_code for r in await _spend(second.client, 2)] == [200, 200]
        # 44 of 50 spent across both: the fifth request is refused on either instance.
        assert (await first.client.post("/graphql", json=QUERY)).status_code == 429
        assert (await second.client.post("/graphql", json=QUERY)).status_code == 429
