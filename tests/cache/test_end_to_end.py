"""End to end through the app: write-path invalidation and flagged stale answers."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gateway.settings import Settings
from simulators import world
from simulators.runner import Simulators
from tests.gateway import support
from tests.gateway.support import running_gateway
from tests.mutations.support import SHIP_ORDER, mutate
from tests.pg import seeded_sqlite
from tests.resilience.support import CRM_API_KEY, PRICING_TOKEN, SHIPPING_TOKEN

#: 50 customers, 25 products, 1,000 orders: enough placed orders to ship one.
SCALE = 0.05


def settings_for(core_url: str, sims: Simulators, **overrides: object) -> Settings:
    """The gateway tests' settings, with this package's simulator credentials."""
    return support.settings_for(
        core_url,
        sims,
        pricing_token=PRICING_TOKEN,
        crm_api_key=CRM_API_KEY,
        shipping_token=SHIPPING_TOKEN,
        **overrides,
    )


SHIPMENT = """query($n: String!) { order(orderNumber: $n) { status shipment { status } } }"""


async def test_shipping_an_order_invalidates_its_cached_shipment(
    sims: Simulators, tmp_path: Path
) -> None:
    core_url = await seeded_sqlite(tmp_path, SCALE)
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
    sims: Simulators, tmp_path: Path
) -> None:
    core_url = await seeded_sqlite(tmp_path, SCALE)
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
