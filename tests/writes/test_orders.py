"""createOrder, placeOrder, cancelOrder, shipOrder: happy paths and every user error."""

from __future__ import annotations

from decimal import Decimal

from simulators import world
from simulators.pricing import quoted_unit_price
from simulators.runner import Simulators
from tests.support.gateway import Gateway
from tests.support.mutations import (
    CANCEL_ORDER,
    CREATE_ORDER,
    PLACE_ORDER,
    SHIP_ORDER,
    codes,
    mutate,
)
from tests.writes.support import (
    SQLITE_ONLY,
    active_skus,
    audit_rows,
    line_prices,
    order_status,
    outbox_rows,
    set_credit,
    set_stock,
    stock,
)

ACCOUNT = "C-000003"
WAREHOUSE = "WH-EU1"


async def priced_skus(core_url: str) -> list[str]:
    return [sku for sku in await active_skus(core_url) if world.has_price(sku)]


async def draft(gateway: Gateway, lines: list[tuple[str, int]], account: str = ACCOUNT) -> str:
    payload = await mutate(
        gateway,
        CREATE_ORDER,
        {
            "accountNumber": account,
            "currency": "USD",
            "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines],
        },
    )
    assert payload["userErrors"] == [], payload
    number: str = payload["order"]["orderNumber"]
    return number


async def test_create_order_is_a_priced_draft(gateway: Gateway, core_url: str) -> None:
    sku_a, sku_b = (await priced_skus(core_url))[:2]

    payload = await mutate(
        gateway,
        CREATE_ORDER,
        {
            "accountNumber": ACCOUNT,
            "currency": "USD",
            "lines": [{"sku": sku_a, "quantity": 2}, {"sku": sku_b, "quantity": 1}],
        },
    )

    assert payload["userErrors"] == []
    order = payload["order"]
    assert order["orderNumber"] == "SO-000401"  # 400 seeded orders
    assert order["status"] == "DRAFT"
    assert order["warehouse"] is None
    # Provisional prices: Pricing's list prices.
    assert [line["unitPrice"] for line in order["lines"]] == [
        str(world.list_price(sku_a, "USD")),
        str(world.list_price(sku_b, "USD")),
    ]
    [audit] = await audit_rows(core_url)
    assert (audit.mutation, audit.entity_key) == ("createOrder", "SO-000401")
    assert await outbox_rows(core_url) == []  # a draft is no business event


@SQLITE_ONLY
async def test_create_order_without_pricing_stores_zero(
    gateway: Gateway, core_url: str, sims: Simulators
) -> None:
    sims.pricing.state.configure(failure_rate=1.0)
    [sku] = (await priced_skus(core_url))[:1]

    number = await draft(gateway, [(sku, 1)])

    assert await line_prices(core_url, number) == [Decimal("0.00")]


@SQLITE_ONLY
async def test_create_order_errors_name_their_fields(gateway: Gateway, core_url: str) -> None:
    [sku] = (await priced_skus(core_url))[:1]
    payload = await mutate(
        gateway,
        CREATE_ORDER,
        {
            "accountNumber": "C-999999",
            "currency": "usd",
            "lines": [
                {"sku": sku, "quantity": 1},
                {"sku": sku, "quantity": 0},
                {"sku": "SKU-99999", "quantity": 1},
            ],
        },
    )

    assert payload["order"] is None
    assert sorted(codes(payload)) == [
        ("input.accountNumber", "NOT_FOUND"),
        ("input.currency", "VALIDATION"),
        ("input.lines[1].quantity", "VALIDATION"),
        ("input.lines[2].sku", "NOT_FOUND"),
    ]
    empty = await mutate(
        gateway, CREATE_ORDER, {"accountNumber": ACCOUNT, "currency": "USD", "lines": []}
    )
    assert codes(empty) == [("input.lines", "VALIDATION")]
    assert await audit_rows(core_url) == []


async def test_place_order_prices_from_the_quote_and_reserves_stock(
    gateway: Gateway, core_url: str, sims: Simulators
) -> None:
    sku_a, sku_b = (await priced_skus(core_url))[:2]
    before_a = await stock(core_url, sku_a, WAREHOUSE)
    before_b = await stock(core_url, sku_b, WAREHOUSE)
    number = await draft(gateway, [(sku_a, 2), (sku_b, 3)])

    payload = await mutate(
        gateway, PLACE_ORDER, {"orderNumber": number, "warehouseCode": WAREHOUSE}
    )

    assert payload["userErrors"] == []
    order = payload["order"]
    assert order["status"] == "PLACED"
    assert order["warehouse"] == {"code": WAREHOUSE}
    assert order["placedAt"] is not None
    assert order["version"] == 2
    expected = [quoted_unit_price(sku, ACCOUNT, "USD") for sku in (sku_a, sku_b)]
    assert [Decimal(line["unitPrice"]) for line in order["lines"]] == expected
    assert Decimal(order["total"]) == expected[0] * 2 + expected[1] * 3
    assert sims.pricing.state.count("createQuote") == 1
    assert await stock(core_url, sku_a, WAREHOUSE) == (before_a[0], before_a[1] + 2)
    assert await stock(core_url, sku_b, WAREHOUSE) == (before_b[0], before_b[1] + 3)
    [event] = await outbox_rows(core_url)
    assert event.type == "order.placed"
    audits = await audit_rows(core_url)
    assert [(a.mutation, a.version_before, a.version_after) for a in audits] == [
        ("createOrder", None, 1),
        ("placeOrder", 1, 2),
    ]


async def test_place_order_user_errors(gateway: Gateway, core_url: str) -> None:
    [sku] = (await priced_skus(core_url))[:1]
    number = await draft(gateway, [(sku, 1)])

    missing = await mutate(
        gateway, PLACE_ORDER, {"orderNumber": "SO-999999", "warehouseCode": "WH-XX9"}
    )
    assert sorted(codes(missing)) == [
        ("input.orderNumber", "NOT_FOUND"),
        ("input.warehouseCode", "NOT_FOUND"),
    ]
    placed = await mutate(gateway, PLACE_ORDER, {"orderNumber": number, "warehouseCode": WAREHOUSE})
    assert placed["userErrors"] == []
    again = await mutate(gateway, PLACE_ORDER, {"orderNumber": number, "warehouseCode": WAREHOUSE})
    assert codes(again) == [("input.orderNumber", "INVALID_STATE")]


async def test_credit_limit_exceeded_writes_nothing(gateway: Gateway, core_url: str) -> None:
    [sku] = (await priced_skus(core_url))[:1]
    number = await draft(gateway, [(sku, 1)], account="C-000005")
    await set_credit(core_url, "C-000005", "0.00")
    before = await stock(core_url, sku, WAREHOUSE)

    payload = await mutate(
        gateway, PLACE_ORDER, {"orderNumber": number, "warehouseCode": WAREHOUSE}
    )

    assert payload["order"] is None
    assert codes(payload) == [(None, "CREDIT_LIMIT_EXCEEDED")]
    assert await order_status(core_url, number) == "draft"
    assert await stock(core_url, sku, WAREHOUSE) == before
    assert await outbox_rows(core_url) == []


async def test_insufficient_stock_reserves_no_line(gateway: Gateway, core_url: str) -> None:
    sku_a, sku_b = (await priced_skus(core_url))[:2]
    await set_stock(core_url, sku_b, WAREHOUSE, available=2)
    number = await draft(gateway, [(sku_a, 1), (sku_b, 3)])
    before_a = await stock(core_url, sku_a, WAREHOUSE)

    payload = await mutate(
        gateway, PLACE_ORDER, {"orderNumber": number, "warehouseCode": WAREHOUSE}
    )

    assert codes(payload) == [(None, "INSUFFICIENT_STOCK")]
    assert sku_b in payload["userErrors"][0]["message"]
    # The first line's reservation was rolled back with the second's failure.
    assert await stock(core_url, sku_a, WAREHOUSE) == before_a
    assert await order_status(core_url, number) == "draft"
    assert await line_prices(core_url, number) == [
        world.list_price(sku_a, "USD"),
        world.list_price(sku_b, "USD"),
    ]


@SQLITE_ONLY
async def test_pricing_down_keeps_the_draft(
    gateway: Gateway, core_url: str, sims: Simulators
) -> None:
    [sku] = (await priced_skus(core_url))[:1]
    number = await draft(gateway, [(sku, 1)])
    sims.pricing.state.configure(failure_rate=1.0)

    payload = await mutate(
        gateway, PLACE_ORDER, {"orderNumber": number, "warehouseCode": WAREHOUSE}
    )

    assert codes(payload) == [(None, "UPSTREAM_UNAVAILABLE")]
    assert "pricing" in payload["userErrors"][0]["message"]
    assert await order_status(core_url, number) == "draft"


async def test_cancel_releases_reserved_stock(gateway: Gateway, core_url: str) -> None:
    [sku] = (await priced_skus(core_url))[:1]
    before = await stock(core_url, sku, WAREHOUSE)
    number = await draft(gateway, [(sku, 4)])
    await mutate(gateway, PLACE_ORDER, {"orderNumber": number, "warehouseCode": WAREHOUSE})
    assert await stock(core_url, sku, WAREHOUSE) == (before[0], before[1] + 4)

    payload = await mutate(gateway, CANCEL_ORDER, {"orderNumber": number})

    assert payload["userErrors"] == []
    assert payload["order"]["status"] == "CANCELLED"
    assert await stock(core_url, sku, WAREHOUSE) == before
    again = await mutate(gateway, CANCEL_ORDER, {"orderNumber": number})
    assert codes(again) == [("input.orderNumber", "INVALID_STATE")]
    missing = await mutate(gateway, CANCEL_ORDER, {"orderNumber": "SO-999999"})
    assert codes(missing) == [("input.orderNumber", "NOT_FOUND")]
    assert [row.type for row in await outbox_rows(core_url)] == ["order.placed", "order.cancelled"]


async def test_ship_order_moves_stock_out(
    gateway: Gateway, core_url: str, sims: Simulators
) -> None:
    [sku] = (await priced_skus(core_url))[:1]
    before = await stock(core_url, sku, WAREHOUSE)
    number = await draft(gateway, [(sku, 2)])
    not_yet = await mutate(gateway, SHIP_ORDER, {"orderNumber": number})
    assert codes(not_yet) == [("input.orderNumber", "INVALID_STATE")]
    await mutate(gateway, PLACE_ORDER, {"orderNumber": number, "warehouseCode": WAREHOUSE})

    payload = await mutate(gateway, SHIP_ORDER, {"orderNumber": number})

    assert payload["userErrors"] == []
    assert payload["order"]["status"] == "SHIPPED"
    assert await stock(core_url, sku, WAREHOUSE) == (before[0] - 2, before[1])
    shipment = sims.shipping.state.created_for(number)
    assert shipment is not None
    [record] = sims.shipping.state.recent("createShipment")
    assert record.idempotency_key == f"ship-{number}-v1"
    shipped = [row for row in await outbox_rows(core_url) if row.type == "order.shipped"]
    assert len(shipped) == 1
    assert f'"shipment_id":"{shipment.shipment_id}"' in shipped[0].payload
    # Shipping an order already shipped converges: no second shipment, no stock moved.
    again = await mutate(gateway, SHIP_ORDER, {"orderNumber": number})
    assert again["userErrors"] == []
    assert await stock(core_url, sku, WAREHOUSE) == (before[0] - 2, before[1])
    assert len(sims.shipping.state.created()) == 1


async def test_shipping_down_keeps_the_order_placed(
    gateway: Gateway, core_url: str, sims: Simulators
) -> None:
    [sku] = (await priced_skus(core_url))[:1]
    number = await draft(gateway, [(sku, 1)])
    await mutate(gateway, PLACE_ORDER, {"orderNumber": number, "warehouseCode": WAREHOUSE})
    sims.shipping.state.configure(failure_rate=1.0)

    payload = await mutate(gateway, SHIP_ORDER, {"orderNumber": number})

    assert codes(payload) == [(None, "UPSTREAM_UNAVAILABLE")]
    assert await order_status(core_url, number) == "placed"
    missing = await mutate(gateway, SHIP_ORDER, {"orderNumber": "SO-999999"})
    assert codes(missing) == [("input.orderNumber", "NOT_FOUND")]
