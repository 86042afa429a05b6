"""No oversell: concurrent placeOrder calls race for the same stock over real connections."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from adapters.core.tables import inventory
from simulators import world
from tests.support.gateway import Gateway
from tests.support.mutations import CREATE_ORDER, PLACE_ORDER, codes, mutate
from tests.writes.support import active_skus, outbox_rows, rows, set_credit, set_stock, stock

WAREHOUSE = "WH-US1"
RACERS = 20
AVAILABLE = 5


async def test_twenty_orders_for_five_units_place_exactly_five(
    gateway: Gateway, core_url: str
) -> None:
    [sku] = [s for s in await active_skus(core_url) if world.has_price(s)][:1]
    await set_stock(core_url, sku, WAREHOUSE, available=AVAILABLE)
    on_hand, reserved = await stock(core_url, sku, WAREHOUSE)
    # Orders of four customers with room on their credit: stock is the only limit.
    accounts = [f"C-{n:06d}" for n in (2, 4, 6, 8)]
    for account in accounts:
        await set_credit(core_url, account, "9999999.00")
    numbers = []
    for i in range(RACERS):
        payload = await mutate(
            gateway,
            CREATE_ORDER,
            {
                "accountNumber": accounts[i % len(accounts)],
                "currency": "USD",
                "lines": [{"sku": sku, "quantity": 1}],
            },
        )
        numbers.append(payload["order"]["orderNumber"])

    payloads = await asyncio.gather(
        *(
            mutate(gateway, PLACE_ORDER, {"orderNumber": number, "warehouseCode": WAREHOUSE})
            for number in numbers
        )
    )

    placed = [p for p in payloads if not p["userErrors"]]
    refused = [p for p in payloads if p["userErrors"]]
    assert len(placed) == AVAILABLE
    assert all(p["order"]["status"] == "PLACED" for p in placed)
    assert all(codes(p) == [(None, "INSUFFICIENT_STOCK")] for p in refused)
    assert await stock(core_url, sku, WAREHOUSE) == (on_hand, reserved + AVAILABLE)
    assert all(
        row.reserved <= row.on_hand
        for row in await rows(core_url, select(inventory.c.on_hand, inventory.c.reserved))
    )
    assert len(await outbox_rows(core_url)) == AVAILABLE


async def test_credit_check_is_race_safe(gateway: Gateway, core_url: str) -> None:
    """Ten orders of one customer whose credit covers three: exactly three are placed."""
    [sku] = [s for s in await active_skus(core_url) if world.has_price(s)][:1]
    account = "C-000010"
    numbers = []
    for _ in range(10):
        payload = await mutate(
            gateway,
            CREATE_ORDER,
            {"accountNumber": account, "currency": "USD", "lines": [{"sku": sku, "quantity": 1}]},
        )
        numbers.append(payload["order"]["orderNumber"])
    balance = await gateway.data(
        "query($a: String!) { customer(accountNumber: $a) { openBalance } }", {"a": account}
    )
    from decimal import Decimal

    from simulators.pricing import quoted_unit_price

    unit = quoted_unit_price(sku, account, "USD")
    limit = Decimal(balance["customer"]["openBalance"]) + unit * 3
    await set_credit(core_url, account, str(limit))

    payloads = await asyncio.gather(
        *(
            mutate(gateway, PLACE_ORDER, {"orderNumber": number, "warehouseCode": WAREHOUSE})
            for number in numbers
        )
    )

    assert sum(1 for p in payloads if not p["userErrors"]) == 3
    assert (
        sorted(codes(p)[0][1] for p in payloads if p["userErrors"]) == ["CREDIT_LIMIT_EXCEEDED"] * 7
    )
    after = await gateway.data(
        "query($a: String!) { customer(accountNumber: $a) { openBalance creditLimit } }",
        {"a": account},
    )
    assert Decimal(after["customer"]["openBalance"]) <= Decimal(after["customer"]["creditLimit"])
