"""Writes invalidate exactly the cached answers they make stale (``app.state.on_change``)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from gateway.caching.bolt_on import BoltOnCache, CachePolicy, MemoryStorage
from gateway.loaders import Loaders
from plugins.shipping import PLUGIN as SHIPPING
from plugins.shipping import SHIPMENTS
from simulators.runner import Simulators
from tests.caching.support import SKUS, cache_of, cached_backends, prices, ship


async def test_shipping_an_order_invalidates_its_cached_shipment_only(
    sims: Simulators, tmp_path: Path
) -> None:
    order = f"SO-{uuid.uuid4().int % 10**6 + 800_000:06d}"
    async with cached_backends(tmp_path, sims) as backends:
        assert await Loaders(backends).shipment.load(order) is None
        other = await Loaders(backends).shipment.load("SO-000004")
        assert other is not None  # a seeded shipped order
        await prices(backends, SKUS[:2])
        await ship(sims, order)
        # Until the write is announced the cache still says "no shipment"...
        assert await Loaders(backends).shipment.load(order) is None
        await cache_of(backends).apply_changes(frozenset({("Order", order)}))
        shipment = await Loaders(backends).shipment.load(order)
        assert await Loaders(backends).shipment.load("SO-000004") == other
        await prices(backends, SKUS[:2])
    assert shipment is not None and shipment.status == "label_created"
    assert sims.shipping.state.batches("listShipments") == [[order], ["SO-000004"], [order]]
    assert sims.pricing.state.count("listPrices") == 1, "a shipment write keeps prices"


async def test_a_customer_change_invalidates_its_insights(sims: Simulators, tmp_path: Path) -> None:
    async with cached_backends(tmp_path, sims) as backends:
        await Loaders(backends).insights.load("C-000001")
        await Loaders(backends).insights.load("C-000002")
        await cache_of(backends).apply_changes(frozenset({("Customer", "C-000001")}))
        await Loaders(backends).insights.load("C-000001")
        await Loaders(backends).insights.load("C-000002")
    assert sims.crm.state.count("getAccountInsights") == 3


async def test_unrelated_changes_invalidate_nothing(sims: Simulators, tmp_path: Path) -> None:
    async with cached_backends(tmp_path, sims) as backends:
        await prices(backends, SKUS[:2])
        await Loaders(backends).shipment.load("SO-000004")
        await cache_of(backends).apply_changes(frozenset({("Product", "SKU-00001")}))
        await prices(backends, SKUS[:2])
        await Loaders(backends).shipment.load("SO-000004")
    assert sims.pricing.state.count("listPrices") == 1
    assert sims.shipping.state.count("listShipments") == 1


async def test_an_answer_fetched_before_an_invalidation_is_not_stored() -> None:
    cache = BoltOnCache(
        MemoryStorage(),
        {SHIPMENTS.label: CachePolicy(ttl=60)},
        stale_on_change=SHIPPING.stale_on_change,
    )
    answers = iter(["before the write", "after the write"])

    async def fetch(keys: list[str]) -> list[object]:
        await asyncio.sleep(0.05)
        return [next(answers) for _ in keys]

    reading = asyncio.ensure_future(cache.get_many(SHIPMENTS, ["SO-1"], fetch))
    await asyncio.sleep(0.01)
    await cache.apply_changes([("Order", "SO-1")])  # the write commits mid-read
    assert await reading == ["before the write"]
    assert await cache.get_many(SHIPMENTS, ["SO-1"], fetch) == ["after the write"]
    await cache.aclose()
