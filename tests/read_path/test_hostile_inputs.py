"""A client's own bad value is BAD_USER_INPUT naming the argument, never a core outage.

NUL characters (PostgreSQL cannot store them in text), ids and cursors
carrying numbers no key column can hold, over-long keys: each is refused
before the database is asked, the same way on SQLite and PostgreSQL, and
counts nowhere as an error of the core.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.support.gateway import Gateway
from tests.support.metrics import sample

NUL = "\u0000"
HUGE = "9" * 30


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


#: (argument named in the error, document, variables) of every read argument that reaches the core.
BAD_READS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "accountNumber",
        "query($v: String!) { customer(accountNumber: $v) { name } }",
        {"v": f"C-{NUL}"},
    ),
    ("sku", "query($v: String!) { product(sku: $v) { name } }", {"v": f"SKU-{NUL}1"}),
    ("orderNumber", "query($v: String!) { order(orderNumber: $v) { status } }", {"v": NUL}),
    (
        "filter.nameContains",
        "query($v: String) { customers(filter: {nameContains: $v}) { totalCount } }",
        {"v": f"a{NUL}"},
    ),
    (
        "filter.category",
        "query($v: String) { products(filter: {category: $v}) { totalCount } }",
        {"v": NUL},
    ),
    (
        "filter.accountNumber",
        "query($v: String) { orders(filter: {accountNumber: $v}) { totalCount } }",
        {"v": f"C-000001{NUL}"},
    ),
    ("id", "query($v: ID!) { node(id: $v) { id } }", {"v": _b64(f"Customer:{HUGE}")}),
    ("id", "query($v: ID!) { node(id: $v) { id } }", {"v": _b64("Order:-5")}),
    ("id", "query($v: ID!) { node(id: $v) { id } }", {"v": _b64("Product:\u0661\u0662")}),
    (
        "after",
        "query($v: String) { customers(after: $v) { totalCount } }",
        {"v": _b64(f"cursor:{HUGE}")},
    ),
    ("after", "query($v: String) { products(after: $v) { totalCount } }", {"v": _b64("cursor:-1")}),
    (
        "after",
        "query($v: String) { orders(after: $v) { totalCount } }",
        {"v": _b64(f"cursor:{HUGE}")},
    ),
    (
        "after",
        'query($v: String) { customer(accountNumber: "C-000001") '
        "{ orders(after: $v) { totalCount } } }",
        {"v": _b64(f"cursor:{HUGE}")},
    ),
    (
        "accountNumber",
        "query($v: String!) { customer(accountNumber: $v) { name } }",
        {"v": "C" * 300},
    ),
]


@pytest.mark.parametrize(("argument", "query", "variables"), BAD_READS)
async def test_bad_read_arguments_are_the_clients_mistake(
    gateway: Gateway, argument: str, query: str, variables: dict[str, Any]
) -> None:
    errors_before = await _core_errors(gateway)
    statements = gateway.backends.core.statements
    body = await gateway.post(query, variables)
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["extensions"]["field"] == argument, error
    assert error["message"].startswith(f"{argument}: "), error
    assert "core" not in error["message"] and "database" not in error["message"]
    # The database was not asked (but for the customer whose orders are paged).
    asked = 1 if 'customer(accountNumber: "C-000001")' in query else 0
    assert gateway.backends.core.statements == statements + asked
    assert await _core_errors(gateway) == errors_before


async def _core_errors(gateway: Gateway) -> float:
    metrics = (await gateway.client.get("/metrics")).text
    return sample(metrics, "gateway_backend_errors_total", service="core")


async def test_good_values_next_to_the_bounds_still_answer(gateway: Gateway) -> None:
    """The largest key a column holds is not refused: it is simply not found."""
    top = 2**63 - 1
    body = await gateway.post(
        "query($id: ID!, $after: String) { node(id: $id) { id } customers(after: $after) "
        '{ edges { node { accountNumber } } } customer(accountNumber: "C-000001\\t") { name } }',
        {"id": _b64(f"Customer:{top}"), "after": _b64(f"cursor:{top}")},
    )
    assert "errors" not in body, body
    assert body["data"] == {"node": None, "customers": {"edges": []}, "customer": None}
