"""Reads of a seeded core: batch order and misses, keyset pages, grouping, one statement each."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import UTC
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from sqlalchemy import insert

from adapters.core import CoreAdapter
from adapters.core.tables import customers
from adapters.records import OrderRecord, Page
from tests.adapters.core.support import Seeded

T = TypeVar("T")

MISSING_ID = 10**9


async def one_statement(core: CoreAdapter, call: Awaitable[T]) -> T:
    """Await ``call`` and assert it ran exactly one SQL statement."""
    before = core.statements
    result = await call
    assert core.statements - before == 1
    return result


async def all_pages(
    fetch: Callable[..., Awaitable[Page[Any]]],
) -> tuple[list[Any], int]:
    """Walk a keyset pagination to its end; returns the items and the number of pages.

    ``fetch`` is called as ``fetch(after=<last id or None>)``.
    """
    items: list[Any] = []
    after: int | None = None
    pages = 0
    while True:
        page = await fetch(after=after)
        pages += 1
        items.extend(page.items)
        if not page.has_next:
            return items, pages
        assert page.items, "has_next on an empty page would loop forever"
        after = page.items[-1].id


# --- batches by key ------------------------------------------------------------


async def test_customers_by_id_keeps_key_order_duplicates_and_misses(seeded: Seeded) -> None:
    core = seeded.core
    result = await one_statement(core, core.customers_by_id([3, MISSING_ID, 1, 3]))
    assert [c.id if c else None for c in result] == [3, None, 1, 3]
    first = seeded.data.customers[0]
    assert result[2] is not None
    assert result[2].account_number == first["account_number"] == "C-000001"
    assert result[2].name == first["name"]
    assert result[2].credit_limit == first["credit_limit"]


async def test_lookups_by_business_key(seeded: Seeded) -> None:
    core = seeded.core
    customers = await one_statement(
        core, core.customers_by_account(["C-000002", "C-999999", "C-000001"])
    )
    assert [c.account_number if c else None for c in customers] == ["C-000002", None, "C-000001"]

    products = await one_statement(core, core.products_by_sku(["SKU-00005", "nope"]))
    assert products[1] is None
    assert products[0] is not None
    assert products[0].sku == "SKU-00005"
    assert products[0].unit_cost == seeded.data.products[4]["unit_cost"]

    orders = await one_statement(core, core.orders_by_number(["SO-000010", "SO-999999"]))
    assert orders[0] is not None
    assert orders[0].id == 10
    assert orders[1] is None

    by_code = await one_statement(core, core.warehouses_by_code(["WH-US1", "WH-XX9", "WH-EU1"]))
    assert [w.code if w else None for w in by_code] == ["WH-US1", None, "WH-EU1"]


async def test_by_id_batches_for_products_orders_warehouses(seeded: Seeded) -> None:
    core = seeded.core
    products = await one_statement(core, core.products_by_id([2, MISSING_ID]))
    assert products[0] is not None
    assert products[0].id == 2
    assert products[1] is None
    orders = await one_statement(core, core.orders_by_id([MISSING_ID, 7]))
    assert orders[0] is None
    assert orders[1] is not None
    assert orders[1].order_number == "SO-000007"
    houses = await one_statement(core, core.warehouses_by_id([3, 1]))
    assert [w.code if w else None for w in houses] == ["WH-AP1", "WH-EU1"]


async def test_empty_batches_run_no_statement(seeded: Seeded) -> None:
    core = seeded.core
    before = core.statements
    assert await core.customers_by_id([]) == []
    assert await core.orders_of_customers([]) == []
    assert await core.count_orders_of_customers([]) == []
    assert await core.lines_of_orders([]) == []
    assert await core.inventory_of_products([]) == []
    assert await core.open_balances([]) == []
    assert core.statements == before


async def test_list_warehouses(seeded: Seeded) -> None:
    houses = await seeded.core.list_warehouses()
    assert [(w.id, w.code) for w in houses] == [(1, "WH-EU1"), (2, "WH-US1"), (3, "WH-AP1")]
    assert all(w.name and w.region for w in houses)


# --- keyset pagination ---------------------------------------------------------


async def test_customers_keyset_pagination_visits_every_row_once(seeded: Seeded) -> None:
    core = seeded.core
    items, pages = await all_pages(
        lambda after: core.list_customers(first=7, after=after, segment=None, name_contains=None)
    )
    assert [c.id for c in items] == [row["id"] for row in seeded.data.customers]
    assert pages == -(-len(seeded.data.customers) // 7)
    assert await core.count_customers(segment=None, name_contains=None) == len(items)


async def test_page_has_next_is_exact_at_the_boundary(seeded: Seeded) -> None:
    core = seeded.core
    total = len(seeded.data.customers)
    exact = await one_statement(
        core, core.list_customers(first=total, after=None, segment=None, name_contains=None)
    )
    assert len(exact.items) == total
    assert exact.has_next is False
    short = await core.list_customers(first=total - 1, after=None, segment=None, name_contains=None)
    assert short.has_next is True
    past_end = await core.list_customers(
        first=5, after=MISSING_ID, segment=None, name_contains=None
    )
    assert past_end.items == []
    assert past_end.has_next is False
    none = await core.list_customers(first=0, after=None, segment=None, name_contains=None)
    assert none.items == []
    assert none.has_next is True


async def test_customer_filters_and_counts(seeded: Seeded) -> None:
    core = seeded.core
    for segment in ("enterprise", "mid_market", "smb"):
        expected = [row["id"] for row in seeded.data.customers if row["segment"] == segment]
        items, _ = await all_pages(
            functools.partial(core.list_customers, first=4, segment=segment, name_contains=None)
        )
        assert [c.id for c in items] == expected
        assert await core.count_customers(segment=segment, name_contains=None) == len(expected)

    word = seeded.data.customers[0]["name"].split()[0]
    expected = [r["id"] for r in seeded.data.customers if word.lower() in r["name"].lower()]
    found = await core.list_customers(
        first=100, after=None, segment=None, name_contains=word.upper()
    )
    assert [c.id for c in found.items] == expected
    assert expected
    assert await core.count_customers(segment=None, name_contains=word.upper()) == len(expected)


async def test_product_filters_and_counts(seeded: Seeded) -> None:
    core = seeded.core
    rows = seeded.data.products
    for active in (True, False):
        expected = [r["id"] for r in rows if r["active"] is active]
        page = await core.list_products(first=1000, after=None, category=None, active=active)
        assert [p.id for p in page.items] == expected
        assert all(p.active is active for p in page.items)
        assert await core.count_products(category=None, active=active) == len(expected)
    category = rows[0]["category"]
    expected = [r["id"] for r in rows if r["category"] == category and r["active"]]
    items, _ = await all_pages(
        lambda after: core.list_products(first=2, after=after, category=category, active=True)
    )
    assert [p.id for p in items] == expected
    assert await core.count_products(category=category, active=True) == len(expected)
    assert await core.count_products(category="no-such", active=None) == 0


async def test_order_filters_and_counts(seeded: Seeded) -> None:
    core = seeded.core
    rows = seeded.data.orders
    placed = [r["id"] for r in rows if r["status"] == "placed"]
    items, _ = await all_pages(
        lambda after: core.list_orders(first=100, after=after, status="placed", customer_id=None)
    )
    assert [o.id for o in items] == placed
    assert await core.count_orders(status="placed", customer_id=None) == len(placed)
    assert await core.count_orders(status=None, customer_id=None) == len(rows)

    customer_id = rows[0]["customer_id"]
    mine = [r["id"] for r in rows if r["customer_id"] == customer_id]
    page = await core.list_orders(first=3, after=None, status=None, customer_id=customer_id)
    assert [o.id for o in page.items] == mine[:3]
    assert page.has_next is (len(mine) > 3)
    assert await core.count_orders(status=None, customer_id=customer_id) == len(mine)


# --- relations, one statement per level ----------------------------------------


def expected_orders_page(
    seeded: Seeded, customer_id: int, first: int, after: int | None, status: str | None
) -> tuple[list[int], bool]:
    ids = [
        r["id"]
        for r in seeded.data.orders
        if r["customer_id"] == customer_id
        and (after is None or r["id"] > after)
        and (status is None or r["status"] == status)
    ]
    return ids[:first], len(ids) > first


async def test_orders_of_customers_mixed_keys_in_one_statement(seeded: Seeded) -> None:
    core = seeded.core
    counts: dict[int, int] = {}
    for row in seeded.data.orders:
        counts[row["customer_id"]] = counts.get(row["customer_id"], 0) + 1
    busy = max(counts, key=lambda c: counts[c])
    other = min(counts, key=lambda c: counts[c])
    after = next(r["id"] for r in seeded.data.orders if r["customer_id"] == busy)
    keys: list[tuple[int, int, int | None, str | None]] = [
        (busy, 2, None, None),
        (other, 3, None, "placed"),
        (busy, 5, after, "shipped"),
        (MISSING_ID, 2, None, None),
        (busy, 2, None, None),  # a duplicate key gets its own, equal page
        (other, 100, None, None),
        (busy, 0, None, "draft"),
    ]
    pages = await one_statement(core, core.orders_of_customers(keys))
    assert len(pages) == len(keys)
    for key, page in zip(keys, pages, strict=True):
        ids, has_next = expected_orders_page(seeded, *key)
        assert [o.id for o in page.items] == ids, key
        assert page.has_next is has_next, key
        assert all(isinstance(o, OrderRecord) and o.customer_id == key[0] for o in page.items)
    assert pages[0] == pages[4]
    assert pages[0].items is not pages[4].items
    assert pages[3] == Page(items=[], has_next=False)


async def test_count_orders_of_customers_in_one_statement(seeded: Seeded) -> None:
    core = seeded.core
    keys: list[tuple[int, str | None]] = [
        (1, None),
        (1, "placed"),
        (2, "shipped"),
        (MISSING_ID, None),
        (2, "no-such-status"),
    ]
    counts = await one_statement(core, core.count_orders_of_customers(keys))
    expected = [
        sum(
            1
            for r in seeded.data.orders
            if r["customer_id"] == cid and (status is None or r["status"] == status)
        )
        for cid, status in keys
    ]
    assert counts == expected
    assert counts[0] > 0


async def test_lines_of_orders_grouped_and_ordered(seeded: Seeded) -> None:
    core = seeded.core
    order_ids = [5, MISSING_ID, 1, 5, 42]
    groups = await one_statement(core, core.lines_of_orders(order_ids))
    assert len(groups) == len(order_ids)
    for order_id, lines in zip(order_ids, groups, strict=True):
        expected = [
            (r["line_no"], r["product_id"], r["quantity"], r["unit_price"])
            for r in seeded.data.order_lines
            if r["order_id"] == order_id
        ]
        assert [(ln.line_no, ln.product_id, ln.quantity, ln.unit_price) for ln in lines] == expected
        assert [ln.line_no for ln in lines] == list(range(1, len(lines) + 1))
    assert groups[1] == []
    assert groups[0] == groups[3]
    assert groups[0] is not groups[3]
    line = groups[2][0]
    assert line.line_total == line.unit_price * line.quantity


async def test_inventory_of_products_grouped_by_warehouse(seeded: Seeded) -> None:
    core = seeded.core
    product_ids = [3, MISSING_ID, 1]
    groups = await one_statement(core, core.inventory_of_products(product_ids))
    assert [[i.warehouse_id for i in g] for g in groups] == [[1, 2, 3], [], [1, 2, 3]]
    expected = {(r["product_id"], r["warehouse_id"]): r for r in seeded.data.inventory}
    for item in groups[0] + groups[2]:
        row = expected[(item.product_id, item.warehouse_id)]
        assert (item.on_hand, item.reserved) == (row["on_hand"], row["reserved"])
        assert item.available == item.on_hand - item.reserved >= 0


async def test_open_balances_are_exact_decimals(seeded: Seeded) -> None:
    core = seeded.core
    placed = {r["id"]: r["customer_id"] for r in seeded.data.orders if r["status"] == "placed"}
    expected: dict[int, Decimal] = {}
    for line in seeded.data.order_lines:
        customer_id = placed.get(line["order_id"])
        if customer_id is not None:
            expected[customer_id] = (
                expected.get(customer_id, Decimal("0")) + line["unit_price"] * line["quantity"]
            )
    ids = [row["id"] for row in seeded.data.customers] + [MISSING_ID]
    balances = await one_statement(core, core.open_balances(ids))
    assert balances == [expected.get(cid, Decimal("0.00")) for cid in ids]
    assert all(isinstance(b, Decimal) and b.as_tuple().exponent == -2 for b in balances)
    assert str(balances[-1]) == "0.00"
    assert any(balance > 0 for balance in balances)


# --- values ----------------------------------------------------------------------


async def test_datetimes_are_aware_utc_and_match_what_was_written(seeded: Seeded) -> None:
    core = seeded.core
    [customer] = await core.customers_by_id([1])
    assert customer is not None
    assert customer.created_at.tzinfo is UTC
    assert customer.created_at == seeded.data.customers[0]["created_at"]
    orders = await core.orders_by_id([row["id"] for row in seeded.data.orders[:60]])
    for order, row in zip(orders, seeded.data.orders[:60], strict=True):
        assert order is not None
        assert order.created_at.tzinfo is UTC
        assert order.updated_at.tzinfo is UTC
        assert (order.created_at, order.updated_at, order.placed_at) == (
            row["created_at"],
            row["updated_at"],
            row["placed_at"],
        )
        if order.placed_at is not None:
            assert order.placed_at.tzinfo is UTC
        assert order.status == row["status"]
        assert order.currency == row["currency"]
        assert order.warehouse_id == row["warehouse_id"]


@pytest.mark.parametrize("first", [-1])
async def test_negative_first_is_a_programming_error(seeded: Seeded, first: int) -> None:
    with pytest.raises(ValueError, match="first"):
        await seeded.core.list_orders(first=first, after=None, status=None, customer_id=None)


@pytest.mark.parametrize(
    ("needle", "expected"),
    [
        ("100%", ["100% Pure Ltd"]),
        ("under_", ["Under_score AG"]),
        ("SLASH/", ["Slash/Works"]),
        ("pure", ["100% Pure Ltd", "1000 Pure Ltd"]),
        ("%", ["100% Pure Ltd"]),
    ],
)
async def test_name_contains_ignores_case_and_matches_wildcards_literally(
    core: CoreAdapter, needle: str, expected: list[str]
) -> None:
    names = ["100% Pure Ltd", "1000 Pure Ltd", "Under_score AG", "UnderXscore AG", "Slash/Works"]
    async with core.transaction() as conn:
        await conn.execute(
            insert(customers),
            [
                {"account_number": f"C-{i:06d}", "name": name, "segment": "smb"}
                for i, name in enumerate(names, start=1)
            ],
        )
    page = await core.list_customers(first=10, after=None, name_contains=needle)
    assert [c.name for c in page.items] == expected
    assert await core.count_customers(name_contains=needle) == len(expected)
