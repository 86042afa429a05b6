"""The shared cache in a real Redis: two gateway instances see one set of entries.

Needs ``GATEWAY_TEST_REDIS_URL``; every test uses a fresh key namespace.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson
import pytest
import redis.asyncio as aioredis

from gateway.caching.bolt_on import RedisStorage
from gateway.loaders import Loaders
from simulators.runner import Simulators
from tests.caching.support import SKUS, cache_of, cached_backends, prices, ship
from tests.support.simulators import PRICING_TOKEN

pytestmark = pytest.mark.redis


async def test_two_instances_share_entries_and_invalidations(
    sims: Simulators, tmp_path: Path, redis_url: str, namespace: str
) -> None:
    order = f"SO-{uuid.uuid4().int % 10**6 + 800_000:06d}"
    options = {"redis_url": redis_url, "cache_namespace": namespace}
    async with (
        cached_backends(tmp_path / "a", sims, **options) as one,
        cached_backends(tmp_path / "b", sims, **options) as other,
    ):
        assert isinstance(cache_of(one).storage, RedisStorage)
        # Instance one fills the cache; instance two is answered from it.
        assert await Loaders(one).shipment.load(order) is None
        assert await Loaders(other).shipment.load(order) is None
        first = await prices(one, SKUS)
        assert await prices(other, SKUS) == first
        assert sims.shipping.state.count("listShipments") == 1
        assert sims.pricing.state.count("listPrices") == 1
        # Instance two writes (ships the order) and announces it; instance one sees it.
        await ship(sims, order)
        await cache_of(other).apply_changes(frozenset({("Order", order)}))
        shipment = await Loaders(one).shipment.load(order)
        assert shipment is not None and shipment.order_number == order
        assert await Loaders(other).shipment.load(order) == shipment
    assert sims.shipping.state.count("listShipments") == 2
    assert sims.pricing.state.count("listPrices") == 1


async def test_entries_are_json_with_a_ttl_and_never_hold_the_token(
    sims: Simulators, tmp_path: Path, redis_url: str, namespace: str
) -> None:
    async with cached_backends(
        tmp_path, sims, redis_url=redis_url, cache_namespace=namespace, cache_ttls={"pricing": 30}
    ) as backends:
        [price] = await prices(backends, ["SKU-00001"])
    client = aioredis.Redis.from_url(redis_url)
    try:
        keys = [key.decode() async for key in client.scan_iter(f"{namespace}:*")]
        assert len(keys) == 1
        [key] = keys
        assert key.startswith(f"{namespace}:pricing:listPrices:")
        assert key.endswith(":USD:SKU-00001")
        assert PRICING_TOKEN not in key
        fresh_until, value = orjson.loads(await client.get(key))
        ttl_ms = await client.pttl(key)
    finally:
        await client.aclose()
    assert value["list_price"] == str(price.list_price)
    assert value["valid_until"] == price.valid_until.isoformat()
    assert 0 < ttl_ms <= 30_000
    assert fresh_until > 0


async def test_stale_on_error_works_from_redis_too(
    sims: Simulators, tmp_path: Path, redis_url: str, namespace: str
) -> None:
    import asyncio

    async with cached_backends(
        tmp_path,
        sims,
        redis_url=redis_url,
        cache_namespace=namespace,
        cache_ttls={"shipping": 0.1},
        cache_stale_on_error=["shipping"],
        retry_attempts=1,
    ) as backends:
        good = await Loaders(backends).shipment.load("SO-000004")
        await asyncio.sleep(0.15)
        sims.shipping.state.configure(failure_rate=1.0)
        extensions: dict[str, object] = {}
        stale = await Loaders(backends, extensions=extensions).shipment.load("SO-000004")
    assert good is not None and stale == good
    assert extensions["stale"] == [
        {"service": "shipping", "operation": "listShipments", "key": "SO-000004"}
    ]


async def test_a_redis_that_is_down_degrades_to_misses(sims: Simulators, tmp_path: Path) -> None:
    # Nothing listens on port 1: every cache read and write fails, the reads still work.
    async with cached_backends(
        tmp_path, sims, redis_url="redis://127.0.0.1:1/0", cache_namespace="down"
    ) as backends:
        first = await prices(backends, SKUS[:2])
        second = await prices(backends, SKUS[:2])
    assert first == second
    assert sims.pricing.state.count("listPrices") == 2
