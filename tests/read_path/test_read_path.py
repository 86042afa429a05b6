"""The read path: core data joined with all three bolt-ons, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from schema.money import margin_pct
from simulators import world
from simulators.seed import SeedData
from tests.support.gateway import Gateway

DONE_MEANS_QUERY = """
{ customers(first: 5) { edges { node { accountNumber name insights { healthScore }
  orders(first: 3) { edges { node { orderNumber total shipment { carrier status }
    lines { quantity product { sku price { listPrice marginPct } } } } } } } } } }
"""


async def test_the_done_means_query_joins_all_backends(
    gateway: Gateway, seed_data: SeedData
) -> None:
    data = await gateway.data(DONE_MEANS_QUERY)
    customers = [edge["node"] for edge in data["customers"]["edges"]]
    assert [c["accountNumber"] for c in customers] == [
        row["account_number"] for row in seed_data.customers[:5]
    ]
    assert all(0 <= c["insights"]["healthScore"] <= 100 for c in customers)
    orders = [o["node"] for c in customers for o in c["orders"]["edges"]]
    assert orders, "the seeded customers have orders"
    seen_shipment = seen_price = False
    for order in orders:
        status = world.seeded_order_status(order["orderNumber"])
        if status == "shipped":
            assert order["shipment"]["carrier"] in world.CARRIERS
            seen_shipment = True
        else:
            assert order["shipment"] is None
        total = Decimal(0)
        for line in order["lines"]:
            sku = line["product"]["sku"]
            price = line["product"]["price"]
            if world.has_price(sku):
                assert Decimal(price["listPrice"]) == world.list_price(sku)
                expected = margin_pct(world.list_price(sku), world.unit_cost(sku))
                assert Decimal(price["marginPct"]) == expected
                seen_price = True
            else:
                assert price is None
        total = Decimal(order["total"])
        assert total > 0
        assert order["total"] == f"{total:.2f}", "money is a two-place decimal string"
    assert seen_shipment and seen_price


async def test_order_total_and_margin_are_exact_decimals(
    gateway: Gateway, seed_data: SeedData
) -> None:
    row = next(o for o in seed_data.orders if o["currency"] == "USD")
    lines = [line for line in seed_data.order_lines if line["order_id"] == row["id"]]
    data = await gateway.data(
        """query($n: String!) { order(orderNumber: $n) { total marginPct
             lines { lineNo quantity unitPrice lineTotal marginPct
                     product { sku unitCost } } } }""",
        {"n": row["order_number"]},
    )
    order = data["order"]
    total = sum((Decimal(str(line["unit_price"])) * line["quantity"] for line in lines), Decimal(0))
    assert Decimal(order["total"]) == total
    cost = sum(
        (Decimal(line["product"]["unitCost"]) * line["quantity"] for line in order["lines"]),
        Decimal(0),
    )
    assert Decimal(order["marginPct"]) == margin_pct(total, cost)
    assert [line["lineNo"] for line in order["lines"]] == sorted(line["line_no"] for line in lines)


async def test_lookup_by_key_and_misses(gateway: Gateway, seed_data: SeedData) -> None:
    customer = seed_data.customers[3]
    product = seed_data.products[2]
    data = await gateway.data(
        """query($a: String!, $s: String!) {
             customer(accountNumber: $a) { accountNumber name segment creditLimit version }
             product(sku: $s) { sku unitCost active }
             missingCustomer: customer(accountNumber: "C-999999") { name }
             missingProduct: product(sku: "SKU-99999") { name }
             missingOrder: order(orderNumber: "SO-999999") { status } }""",
        {"a": customer["account_number"], "s": product["sku"]},
    )
    assert data["customer"]["name"] == customer["name"]
    assert data["customer"]["segment"] == customer["segment"].upper()
    assert Decimal(data["customer"]["creditLimit"]) == Decimal(str(customer["credit_limit"]))
    assert data["customer"]["version"] == 1
    assert data["product"]["unitCost"] == f"{world.unit_cost(product['sku']):.2f}"
    assert data["missingCustomer"] is None
    assert data["missingProduct"] is None
    assert data["missingOrder"] is None


async def _all_pages(gateway: Gateway, field: str, args: str, size: int) -> list[Any]:
    nodes: list[Any] = []
    after: str | None = None
    while True:
        data = await gateway.data(
            f"""query($after: String) {{ {field}(first: {size}, after: $after{args}) {{
                 totalCount pageInfo {{ hasNextPage endCursor }}
                 edges {{ cursor node {{ id }} }} }} }}""",
            {"after": after},
        )
        page = data[field]
        nodes.extend(edge["node"]["id"] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            assert len(nodes) == page["totalCount"]
            return nodes
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        after = page["pageInfo"]["endCursor"]


async def test_pagination_walks_every_row_once(gateway: Gateway, seed_data: SeedData) -> None:
    ids = await _all_pages(gateway, "customers", "", 7)
    assert len(ids) == len(set(ids)) == len(seed_data.customers)
    smb = await _all_pages(gateway, "customers", ", filter: {segment: SMB}", 4)
    assert len(smb) == sum(1 for c in seed_data.customers if c["segment"] == "smb")
    active = await _all_pages(gateway, "products", ", filter: {active: true}", 10)
    assert len(active) == sum(1 for p in seed_data.products if p["active"])
    placed = await _all_pages(gateway, "orders", ", filter: {status: PLACED}", 50)
    assert len(placed) == sum(1 for o in seed_data.orders if o["status"] == "placed")


async def test_name_filter_is_case_insensitive_and_literal(
    gateway: Gateway, seed_data: SeedData
) -> None:
    name = seed_data.customers[0]["name"]
    fragment = name[1:5].swapcase()
    data = await gateway.data(
        """query($f: String!) { customers(first: 100, filter: {nameContains: $f}) {
             totalCount edges { node { name } } } }""",
        {"f": fragment},
    )
    names = [edge["node"]["name"] for edge in data["customers"]["edges"]]
    assert name in names
    assert all(fragment.lower() in n.lower() for n in names)
    wildcard = await gateway.data('{ customers(filter: {nameContains: "%"}) { totalCount } }')
    assert wildcard["customers"]["totalCount"] == sum(
        1 for c in seed_data.customers if "%" in c["name"]
    )


async def test_customer_orders_page_and_status_filter(
    gateway: Gateway, seed_data: SeedData
) -> None:
    customer = seed_data.customers[0]
    own = [o for o in seed_data.orders if o["customer_id"] == customer["id"]]
    shipped = [o for o in own if o["status"] == "shipped"]
    data = await gateway.data(
        """query($a: String!) { customer(accountNumber: $a) {
             all: orders(first: 2) {
               totalCount pageInfo { hasNextPage } edges { node { orderNumber } } }
             shipped: orders(first: 100, status: SHIPPED) {
               totalCount edges { node { status } } } } }""",
        {"a": customer["account_number"]},
    )
    result = data["customer"]
    assert result["all"]["totalCount"] == len(own)
    assert [e["node"]["orderNumber"] for e in result["all"]["edges"]] == [
        o["order_number"] for o in sorted(own, key=lambda o: o["id"])[:2]
    ]
    assert result["all"]["pageInfo"]["hasNextPage"] is (len(own) > 2)
    assert result["shipped"]["totalCount"] == len(shipped)
    assert {e["node"]["status"] for e in result["shipped"]["edges"]} <= {"SHIPPED"}


async def test_orders_filtered_by_account(gateway: Gateway, seed_data: SeedData) -> None:
    customer = seed_data.customers[1]
    expected = sum(1 for o in seed_data.orders if o["customer_id"] == customer["id"])
    data = await gateway.data(
        """query($a: String!) { orders(first: 100, filter: {accountNumber: $a}) {
             totalCount edges { node { customer { accountNumber } } } } }""",
        {"a": customer["account_number"]},
    )
    assert data["orders"]["totalCount"] == expected
    assert {e["node"]["customer"]["accountNumber"] for e in data["orders"]["edges"]} == {
        customer["account_number"]
    }
    unknown = await gateway.post('{ orders(filter: {accountNumber: "C-999999"}) { totalCount } }')
    assert unknown["errors"][0]["extensions"] == {
        "code": "BAD_USER_INPUT",
        "field": "filter.accountNumber",
    }


async def test_open_balance_sums_placed_orders(gateway: Gateway, seed_data: SeedData) -> None:
    customer = seed_data.customers[2]
    placed = {
        o["id"]
        for o in seed_data.orders
        if o["customer_id"] == customer["id"] and o["status"] == "placed"
    }
    expected = sum(
        (
            Decimal(str(line["unit_price"])) * line["quantity"]
            for line in seed_data.order_lines
            if line["order_id"] in placed
        ),
        Decimal("0.00"),
    )
    data = await gateway.data(
        "query($a: String!) { customer(accountNumber: $a) { openBalance } }",
        {"a": customer["account_number"]},
    )
    assert Decimal(data["customer"]["openBalance"]) == expected


async def test_inventory_and_available(gateway: Gateway, seed_data: SeedData) -> None:
    product = seed_data.products[0]
    rows = [r for r in seed_data.inventory if r["product_id"] == product["id"]]
    data = await gateway.data(
        """query($s: String!) { product(sku: $s) { available
             inventory { onHand reserved available warehouse { code } } } }""",
        {"s": product["sku"]},
    )
    levels = data["product"]["inventory"]
    assert len(levels) == len(rows) == 3
    assert data["product"]["available"] == sum(r["on_hand"] - r["reserved"] for r in rows)
    assert all(level["available"] == level["onHand"] - level["reserved"] for level in levels)
    assert {level["warehouse"]["code"] for level in levels} == {"WH-EU1", "WH-US1", "WH-AP1"}


async def test_node_resolves_every_global_id(gateway: Gateway) -> None:
    data = await gateway.data(
        """{ customers(first: 1) { edges { node { id accountNumber } } }
             products(first: 1) { edges { node { id sku } } }
             orders(first: 1) { edges { node { id orderNumber } } }
             warehouses { id code } }"""
    )
    pairs = [
        (data["customers"]["edges"][0]["node"]["id"], "Customer", "accountNumber"),
        (data["products"]["edges"][0]["node"]["id"], "Product", "sku"),
        (data["orders"]["edges"][0]["node"]["id"], "Order", "orderNumber"),
        (data["warehouses"][0]["id"], "Warehouse", "code"),
    ]
    for global_id, type_name, key in pairs:
        node = await gateway.data(
            f"""query($id: ID!) {{ node(id: $id) {{ __typename id
                 ... on {type_name} {{ {key} }} }} }}""",
            {"id": global_id},
        )
        assert node["node"]["__typename"] == type_name
        assert node["node"]["id"] == global_id


async def test_bad_arguments_name_the_field(gateway: Gateway) -> None:
    too_many = await gateway.post("{ customers(first: 1000) { totalCount } }")
    assert too_many["data"] is None
    assert too_many["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "first"}
    bad_cursor = await gateway.post('{ products(after: "nope") { totalCount } }')
    assert bad_cursor["errors"][0]["extensions"]["field"] == "after"
    bad_id = await gateway.post('{ node(id: "bm9wZQ") { id } }')
    assert bad_id["errors"][0]["extensions"]["field"] == "id"
    bad_currency = await gateway.post(
        '{ products(first: 1) { edges { node { price(currency: "usd") { listPrice } } } } }'
    )
    assert bad_currency["errors"][0]["extensions"]["field"] == "currency"
    assert bad_currency["data"]["products"]["edges"][0]["node"]["price"] is None


async def test_price_in_another_currency_keeps_the_base_margin(
    gateway: Gateway, seed_data: SeedData
) -> None:
    sku = next(p["sku"] for p in seed_data.products if world.has_price(p["sku"]))
    data = await gateway.data(
        """query($s: String!) { product(sku: $s) {
             usd: price { listPrice marginPct currency }
             eur: price(currency: "EUR") { listPrice marginPct currency } } }""",
        {"s": sku},
    )
    usd, eur = data["product"]["usd"], data["product"]["eur"]
    assert eur["currency"] == "EUR"
    assert Decimal(eur["listPrice"]) == world.list_price(sku, "EUR")
    assert eur["marginPct"] == usd["marginPct"]
