"""End to end through the app: write-path invalidation and flagged stale answers."""

from __future__ import annotations

import asyncio
from pathlib import Path

from simulators import world
from simulators.runner import Simulators
from tests.support.core import SeededCores
from tests.support.gateway import running_gateway, settings_for
from tests.support.mutations import SHIP_ORDER, mutate
from tests.support.simulators import StartSimulators

SHIPMENT = """query($n: String!) { order(orderNumber: $n) { status shipment { status } } }"""


async def test_shipping_an_order_invalidates_its_cached_shipment(
    start_simulators: StartSimulators, cores: SeededCores, tmp_path: Path
) -> None:
    sims = start_simulators()  # it ships a seeded order: simulators of its own
    core_url = await cores.sqlite(tmp_path)
    placed = next(
        world.order_number(i)
        for i in range(1, 1001)
        if world.seeded_order_status(world.order_number(i)) == "placed"
    )
    settings = settings_for(core_url, sims, cache_ttls={"shipping": 600})
    async with running_gateway(settings) as gateway:
        assert gateway.backends.cache is not None
        before = await gateway.data(SHIPMENT, {"n": placed})
        again = await gateway.data(SHIPMENT, {"n": placed})
        assert before == again == {"order": {"status": "PLACED", "shipment": None}}
        assert sims.shipping.state.count("listShipments") == 1  # the second was cached

        shipped = await mutate(gateway, SHIP_ORDER, {"orderNumber": placed})
        assert shipped["userErrors"] == []

        after = await gateway.data(SHIPMENT, {"n": placed})
    assert after["order"]["status"] == "SHIPPED"
    assert after["order"]["shipment"] == {"status": "LABEL_CREATED"}
    assert sims.shipping.state.count("listShipments") == 2


PRICE = """{ product(sku: "SKU-00001") { sku price { listPrice } } }"""


async def test_a_stale_price_is_served_and_flagged_in_the_response(
    sims: Simulators, cores: SeededCores, tmp_path: Path
) -> None:
    core_url = await cores.sqlite(tmp_path)
    settings = settings_for(
        core_url,
        sims,
        cache_ttls={"pricing": 0.1},
        cache_stale_on_error=["pricing"],
        retry_attempts=1,
    )
    async with running_gateway(settings) as gateway:
        fresh = await gateway.post(PRICE)
        assert "errors" not in fresh, fresh
        await asyncio.sleep(0.15)
        sims.pricing.state.configure(failure_rate=1.0)
        stale = await gateway.post(PRICE)
    assert "extensions" not in fresh or "stale" not in fresh["extensions"]
    assert "errors" not in stale, stale
    assert stale["data"] == fresh["data"]
    assert stale["extensions"]["stale"] == [
        {"service": "pricing", "operation": "listPrices", "key": "SKU-00001"}
    ]
