"""createCustomer and updateCustomer: happy paths, every user error, no lost update."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from adapters.core.tables import customers
from tests.support.gateway import TEST_CLIENT_ID, Gateway
from tests.support.mutations import CREATE_CUSTOMER, UPDATE_CUSTOMER, codes, mutate
from tests.writes.support import SQLITE_ONLY, audit_rows, count, first_customer, outbox_rows

NEW = {"name": "Nimbus Freight BV", "email": "ap@nimbus.example", "segment": "SMB",
       "creditLimit": "25000.50"}  # fmt: skip


async def test_create_customer_assigns_the_next_account_number(
    gateway: Gateway, core_url: str
) -> None:
    payload = await mutate(gateway, CREATE_CUSTOMER, NEW)

    assert payload["userErrors"] == []
    customer = payload["customer"]
    assert customer == {
        "accountNumber": "C-000021",  # 20 seeded customers
        "name": "Nimbus Freight BV",
        "email": "ap@nimbus.example",
        "segment": "SMB",
        "creditLimit": "25000.50",
        "version": 1,
    }
    [audit] = await audit_rows(core_url)
    assert (audit.client_id, audit.mutation, audit.entity_type, audit.entity_key) == (
        TEST_CLIENT_ID,
        "createCustomer",
        "Customer",
        "C-000021",
    )
    assert (audit.version_before, audit.version_after) == (None, 1)
    assert audit.occurred_at.utcoffset().total_seconds() == 0
    [event] = await outbox_rows(core_url)
    assert event.type == "customer.created"
    assert event.entity_key == "C-000021"


async def test_concurrent_creates_get_distinct_numbers(gateway: Gateway, core_url: str) -> None:
    payloads = await asyncio.gather(
        *(mutate(gateway, CREATE_CUSTOMER, {**NEW, "name": f"Customer {i}"}) for i in range(10))
    )

    numbers = sorted(p["customer"]["accountNumber"] for p in payloads)
    assert numbers == [f"C-{n:06d}" for n in range(21, 31)]
    assert await count(core_url, customers) == 30


@SQLITE_ONLY
async def test_invalid_input_names_each_field_and_writes_nothing(
    gateway: Gateway, core_url: str
) -> None:
    payload = await mutate(
        gateway,
        CREATE_CUSTOMER,
        {"name": "  ", "email": "not-an-address", "segment": "SMB", "creditLimit": "10.001"},
    )

    assert payload["customer"] is None
    assert sorted(codes(payload)) == [
        ("input.creditLimit", "VALIDATION"),
        ("input.email", "VALIDATION"),
        ("input.name", "VALIDATION"),
    ]
    negative = await mutate(gateway, CREATE_CUSTOMER, {**NEW, "creditLimit": "-1"})
    assert codes(negative) == [("input.creditLimit", "VALIDATION")]
    assert await count(core_url, customers) == 20
    assert await audit_rows(core_url) == []
    assert await outbox_rows(core_url) == []


async def test_update_customer_bumps_the_version(gateway: Gateway, core_url: str) -> None:
    account = await first_customer(core_url)

    payload = await mutate(
        gateway,
        UPDATE_CUSTOMER,
        {"accountNumber": account, "expectedVersion": 1, "creditLimit": "1234.00", "email": None},
    )

    assert payload["userErrors"] == []
    assert payload["customer"]["version"] == 2
    assert payload["customer"]["creditLimit"] == "1234.00"
    assert payload["customer"]["email"] is None
    [audit] = await audit_rows(core_url)
    assert (audit.mutation, audit.version_before, audit.version_after) == ("updateCustomer", 1, 2)
    [event] = await outbox_rows(core_url)
    assert event.type == "customer.updated"


async def test_stale_version_is_a_conflict_and_writes_nothing(
    gateway: Gateway, core_url: str
) -> None:
    account = await first_customer(core_url)
    first = await mutate(
        gateway, UPDATE_CUSTOMER, {"accountNumber": account, "expectedVersion": 1, "name": "A"}
    )
    assert first["userErrors"] == []

    stale = await mutate(
        gateway, UPDATE_CUSTOMER, {"accountNumber": account, "expectedVersion": 1, "name": "B"}
    )

    assert stale["customer"] is None
    assert codes(stale) == [("input.expectedVersion", "CONFLICT")]
    current = await gateway.data(
        "query($a: String!) { customer(accountNumber: $a) { name version } }", {"a": account}
    )
    assert current["customer"] == {"name": "A", "version": 2}
    assert len(await audit_rows(core_url)) == 1


@SQLITE_ONLY
async def test_unknown_customer_and_empty_change(gateway: Gateway) -> None:
    missing = await mutate(
        gateway, UPDATE_CUSTOMER, {"accountNumber": "C-999999", "expectedVersion": 1, "name": "X"}
    )
    assert codes(missing) == [("input.accountNumber", "NOT_FOUND")]
    nothing = await mutate(
        gateway, UPDATE_CUSTOMER, {"accountNumber": "C-000001", "expectedVersion": 1}
    )
    assert codes(nothing) == [("input", "VALIDATION")]


async def test_concurrent_updates_of_one_version_lose_nothing(
    gateway: Gateway, core_url: str
) -> None:
    """Ten writers read version 1; exactly one wins, the others get CONFLICT."""
    account = await first_customer(core_url)

    payloads = await asyncio.gather(
        *(
            mutate(
                gateway,
                UPDATE_CUSTOMER,
                {"accountNumber": account, "expectedVersion": 1, "creditLimit": f"{1000 + i}.00"},
            )
            for i in range(10)
        )
    )

    winners = [p for p in payloads if not p["userErrors"]]
    assert len(winners) == 1
    assert all(
        codes(p) == [("input.expectedVersion", "CONFLICT")] for p in payloads if p["userErrors"]
    )
    current = await gateway.data(
        "query($a: String!) { customer(accountNumber: $a) { creditLimit version } }", {"a": account}
    )
    # The value stored is the winner's: no later writer overwrote it.
    assert current["customer"] == {
        "creditLimit": winners[0]["customer"]["creditLimit"],
        "version": 2,
    }
    assert Decimal(current["customer"]["creditLimit"]) >= 1000
    assert len(await audit_rows(core_url)) == 1
