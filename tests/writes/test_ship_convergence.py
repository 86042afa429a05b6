"""shipOrder converges: a core failure after the shipment exists, a 409 from Shipping.

The failure is real: a trigger on the core's ``orders`` table refuses the
change to ``shipped`` (test-only fault injection, dropped afterwards).
"""

from __future__ import annotations

import httpx

from simulators import world
from simulators.runner import Simulators
from tests.support.gateway import Gateway
from tests.support.mutations import CREATE_ORDER, PLACE_ORDER, SHIP_ORDER, codes, mutate
from tests.support.simulators import SHIPPING_TOKEN
from tests.writes.support import active_skus, execute, order_status, outbox_rows, stock

WAREHOUSE = "WH-AP1"

SQLITE_TRIGGER = """
CREATE TRIGGER refuse_shipped BEFORE UPDATE OF status ON orders
WHEN NEW.status = 'shipped'
BEGIN SELECT RAISE(ABORT, 'injected failure'); END
"""
PG_FUNCTION = """
CREATE FUNCTION refuse_shipped() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql
"""
PG_TRIGGER = """
CREATE TRIGGER refuse_shipped BEFORE UPDATE ON orders
FOR EACH ROW WHEN (NEW.status = 'shipped') EXECUTE FUNCTION refuse_shipped()
"""


async def placed_order(gateway: Gateway, core_url: str, quantity: int) -> tuple[str, str]:
    [sku] = [s for s in await active_skus(core_url) if world.has_price(s)][:1]
    created = await mutate(
        gateway,
        CREATE_ORDER,
        {
            "accountNumber": "C-000007",
            "currency": "USD",
            "lines": [{"sku": sku, "quantity": quantity}],
        },
    )
    number: str = created["order"]["orderNumber"]
    placed = await mutate(gateway, PLACE_ORDER, {"orderNumber": number, "warehouseCode": WAREHOUSE})
    assert placed["userErrors"] == []
    return number, sku


async def test_retry_after_a_failed_core_write_converges(
    gateway: Gateway, core_url: str, sims: Simulators, backend_name: str
) -> None:
    number, sku = await placed_order(gateway, core_url, quantity=3)
    before = await stock(core_url, sku, WAREHOUSE)
    if backend_name == "sqlite":
        await execute(core_url, SQLITE_TRIGGER)
    else:
        await execute(core_url, PG_FUNCTION, PG_TRIGGER)

    failed = await mutate(gateway, SHIP_ORDER, {"orderNumber": number})

    assert codes(failed) == [(None, "UPSTREAM_UNAVAILABLE")]
    assert "retry shipOrder" in failed["userErrors"][0]["message"]
    shipment = sims.shipping.state.created_for(number)
    assert shipment is not None  # created at Shipping before the core refused
    assert await order_status(core_url, number) == "placed"
    assert await stock(core_url, sku, WAREHOUSE) == before  # nothing moved

    await execute(
        core_url, "DROP TRIGGER refuse_shipped" + ("" if backend_name == "sqlite" else " ON orders")
    )
    retried = await mutate(gateway, SHIP_ORDER, {"orderNumber": number})

    assert retried["userErrors"] == []
    assert retried["order"]["status"] == "SHIPPED"
    assert len(sims.shipping.state.created()) == 1  # never two shipments
    assert sims.shipping.state.count("createShipment") == 2  # the same key, twice
    keys = {r.idempotency_key for r in sims.shipping.state.recent("createShipment")}
    assert keys == {f"ship-{number}-v1"}
    assert await stock(core_url, sku, WAREHOUSE) == (before[0] - 3, before[1] - 3)  # once
    shipped = [row for row in await outbox_rows(core_url) if row.type == "order.shipped"]
    assert len(shipped) == 1
    assert shipment.shipment_id in shipped[0].payload


async def test_a_409_from_shipping_converges_on_the_existing_shipment(
    gateway: Gateway, core_url: str, sims: Simulators
) -> None:
    number, sku = await placed_order(gateway, core_url, quantity=1)
    before = await stock(core_url, sku, WAREHOUSE)
    # Someone else (an operator, an older gateway build) shipped it under another key.
    async with httpx.AsyncClient(base_url=sims.shipping.url) as client:
        response = await client.post(
            "/v1/shipments",
            json={
                "order_number": number,
                "warehouse_code": WAREHOUSE,
                "lines": [{"sku": sku, "quantity": 1}],
            },
            headers={"Authorization": f"Bearer {SHIPPING_TOKEN}", "Idempotency-Key": "other-key-1"},
        )
    assert response.status_code == 201
    existing = response.json()["shipment_id"]

    payload = await mutate(gateway, SHIP_ORDER, {"orderNumber": number})

    assert payload["userErrors"] == []
    assert payload["order"]["status"] == "SHIPPED"
    assert [s.shipment_id for s in sims.shipping.state.created()] == [existing]
    assert await stock(core_url, sku, WAREHOUSE) == (before[0] - 1, before[1] - 1)
    [shipped] = [row for row in await outbox_rows(core_url) if row.type == "order.shipped"]
    assert existing in shipped.payload
