"""A mutation input the core cannot take is a VALIDATION user error naming it; nothing is written.

PostgreSQL refuses NUL characters in text; SQLite stores them. Either way
the gateway refuses them itself, before asking the core, so a client's
mistake is never reported as ``UPSTREAM_UNAVAILABLE`` nor written on one
backend and refused on the other.
"""

from __future__ import annotations

from typing import Any

import pytest

from adapters.core.tables import customers, orders
from tests.support.gateway import Gateway
from tests.support.mutations import (
    CANCEL_ORDER,
    CREATE_CUSTOMER,
    CREATE_ORDER,
    PLACE_ORDER,
    SHIP_ORDER,
    UPDATE_CUSTOMER,
    codes,
    mutate,
)
from tests.writes.support import count

NUL = "\u0000"

CASES: list[tuple[str, dict[str, Any], list[tuple[str, str]]]] = [
    (
        CREATE_CUSTOMER,
        {
            "name": f"Acme{NUL}",
            "email": f"a{NUL}@example.com",
            "segment": "SMB",
            "creditLimit": "1.00",
        },
        [("input.name", "VALIDATION"), ("input.email", "VALIDATION")],
    ),
    (
        UPDATE_CUSTOMER,
        {"accountNumber": f"C-000001{NUL}", "expectedVersion": 1, "name": "New"},
        [("input.accountNumber", "VALIDATION")],
    ),
    (
        UPDATE_CUSTOMER,
        {"accountNumber": "C-000001", "expectedVersion": 1, "name": f"N{NUL}ew"},
        [("input.name", "VALIDATION")],
    ),
    (
        CREATE_ORDER,
        {
            "accountNumber": f"C-{NUL}",
            "currency": "USD",
            "lines": [{"sku": "SKU-00001", "quantity": 1}, {"sku": f"SKU{NUL}", "quantity": 0}],
        },
        [
            ("input.accountNumber", "VALIDATION"),
            ("input.lines[1].sku", "VALIDATION"),
            ("input.lines[1].quantity", "VALIDATION"),
        ],
    ),
    (
        CREATE_ORDER,
        {"accountNumber": "C-000001", "lines": [{"sku": "S" * 101, "quantity": 1}]},
        [("input.lines[0].sku", "VALIDATION")],
    ),
    (
        PLACE_ORDER,
        {"orderNumber": f"SO-{NUL}", "warehouseCode": f"W{NUL}"},
        [("input.orderNumber", "VALIDATION"), ("input.warehouseCode", "VALIDATION")],
    ),
    (CANCEL_ORDER, {"orderNumber": f"SO-000001{NUL}"}, [("input.orderNumber", "VALIDATION")]),
    (SHIP_ORDER, {"orderNumber": NUL}, [("input.orderNumber", "VALIDATION")]),
]


@pytest.mark.parametrize(("document", "values", "expected"), CASES)
async def test_values_the_core_cannot_take_write_nothing(
    gateway: Gateway,
    core_url: str,
    document: str,
    values: dict[str, Any],
    expected: list[tuple[str, str]],
) -> None:
    before = (await count(core_url, customers), await count(core_url, orders))
    statements = gateway.backends.core.statements

    payload = await mutate(gateway, document, values)

    assert codes(payload) == expected, payload
    assert not any("unavailable" in e["message"] for e in payload["userErrors"]), payload
    assert gateway.backends.core.statements == statements  # the core was not asked
    assert (await count(core_url, customers), await count(core_url, orders)) == before
