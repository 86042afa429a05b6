"""The write use cases called directly: no GraphQL, no gateway, only their dependencies.

Each test hands a use case a real core (SQLite and PostgreSQL), a real
``CoreWriter``, real bolt-on adapters on this test's simulators and an
``announce`` that records what it is told, then checks the outcome, what
the core holds, and which dependency was called how often.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from adapters.core import CoreAdapter
from adapters.core.gateway_tables import ensure_gateway_tables
from adapters.core.tables import customers, orders
from adapters.core.writes import Actor, CoreWriter, WriteErrorCode, WriteResult
from adapters.pricing import PricingAdapter
from adapters.shipping import ShippingAdapter
from gateway.writes.customers import create_customer, update_customer
from gateway.writes.orders import (
    cancel_order,
    create_order,
    place_order,
    ship_order,
    shipment_key,
)
from gateway.writes.use_case import Outcome
from simulators import world
from simulators.pricing import quoted_unit_price
from simulators.runner import Simulators
from tests.support import bolt_ons
from tests.writes.support import (
    active_skus,
    audit_rows,
    count,
    line_prices,
    order_status,
    outbox_rows,
    stock,
)

ACCOUNT = "C-000003"
WAREHOUSE = "WH-EU1"


@dataclass
class Announced:
    """An ``announce`` dependency that remembers each committed write it is told about."""

    results: list[WriteResult[Any]] = field(default_factory=list)

    async def __call__(self, result: WriteResult[Any]) -> None:
        self.results.append(result)


@dataclass
class Deps:
    """The dependencies the use cases take, on this test's core and simulators."""

    core: CoreAdapter
    writer: CoreWriter
    pricing: PricingAdapter
    shipping: ShippingAdapter
    announce: Announced

    def actor(self, mutation: str) -> Actor:
        return Actor("use-case-test", mutation, request_id="req-1")


@pytest.fixture
async def deps(core_url: str, sims: Simulators) -> AsyncIterator[Deps]:
    async with (
        CoreAdapter(core_url) as core,
        bolt_ons.pricing(sims) as pricing,
        bolt_ons.shipping(sims) as shipping,
    ):
        await ensure_gateway_tables(core)  # the audit log and the outbox the writer appends to
        yield Deps(core, CoreWriter(core), pricing, shipping, Announced())


def codes(outcome: Outcome[Any]) -> list[tuple[str | None, WriteErrorCode]]:
    return [(error.field, error.code) for error in outcome.errors]


async def priced_skus(core_url: str) -> list[str]:
    return [sku for sku in await active_skus(core_url) if world.has_price(sku)]


async def draft(deps: Deps, lines: list[tuple[str, int]]) -> str:
    outcome = await create_order(
        account_number=ACCOUNT,
        currency="USD",
        lines=lines,
        core=deps.core,
        writer=deps.writer,
        pricing=deps.pricing,
        actor=deps.actor("createOrder"),
        announce=deps.announce,
    )
    assert outcome.errors == []
    assert outcome.record is not None
    return outcome.record.order_number


async def placed(deps: Deps, lines: list[tuple[str, int]]) -> str:
    number = await draft(deps, lines)
    outcome = await place_order(
        order_number=number,
        warehouse_code=WAREHOUSE,
        core=deps.core,
        writer=deps.writer,
        pricing=deps.pricing,
        actor=deps.actor("placeOrder"),
        announce=deps.announce,
    )
    assert outcome.errors == []
    return number


async def ship(deps: Deps, number: str) -> Outcome[Any]:
    return await ship_order(
        order_number=number,
        core=deps.core,
        writer=deps.writer,
        shipping=deps.shipping,
        actor=deps.actor("shipOrder"),
        announce=deps.announce,
    )


# --- customers -------------------------------------------------------------------


async def test_create_customer_writes_audits_and_announces(deps: Deps, core_url: str) -> None:
    before = await count(core_url, customers)

    outcome = await create_customer(
        name="  Acme Tools  ",
        email="buyer@acme.example",
        segment="smb",
        credit_limit=Decimal("1500.00"),
        writer=deps.writer,
        actor=deps.actor("createCustomer"),
        announce=deps.announce,
    )

    assert outcome.errors == []
    record = outcome.record
    assert record is not None
    assert record.name == "Acme Tools"
    assert await count(core_url, customers) == before + 1
    [announced] = deps.announce.results
    assert announced.record == record
    assert announced.changes == {("Customer", record.account_number)}
    assert [event.type for event in announced.events] == ["customer.created"]
    [audit] = await audit_rows(core_url)
    assert (audit.client_id, audit.mutation) == ("use-case-test", "createCustomer")


async def test_create_customer_input_errors_write_nothing(deps: Deps, core_url: str) -> None:
    before = await count(core_url, customers)

    outcome = await create_customer(
        name=" ",
        email="not an address",
        segment="smb",
        credit_limit=Decimal("-1"),
        writer=deps.writer,
        actor=deps.actor("createCustomer"),
        announce=deps.announce,
    )

    assert outcome.record is None
    assert codes(outcome) == [
        ("input.name", WriteErrorCode.VALIDATION),
        ("input.email", WriteErrorCode.VALIDATION),
        ("input.creditLimit", WriteErrorCode.VALIDATION),
    ]
    assert await count(core_url, customers) == before
    assert await audit_rows(core_url) == []
    assert deps.announce.results == []


async def test_update_customer_changes_only_the_given_fields(deps: Deps) -> None:
    [customer] = await deps.core.customers_by_account([ACCOUNT])
    assert customer is not None

    outcome = await update_customer(
        account_number=ACCOUNT,
        expected_version=customer.row_version,
        changes={"email": None, "credit_limit": Decimal("42.50")},
        writer=deps.writer,
        actor=deps.actor("updateCustomer"),
        announce=deps.announce,
    )

    assert outcome.errors == []
    record = outcome.record
    assert record is not None
    assert (record.name, record.email, record.credit_limit) == (
        customer.name,
        None,
        Decimal("42.50"),
    )
    assert record.row_version == customer.row_version + 1
    [announced] = deps.announce.results
    assert announced.changes == {("Customer", ACCOUNT)}


async def test_update_customer_refusals_write_nothing(deps: Deps, core_url: str) -> None:
    [customer] = await deps.core.customers_by_account([ACCOUNT])
    assert customer is not None

    async def update(**kwargs: Any) -> Outcome[Any]:
        return await update_customer(
            account_number=ACCOUNT,
            writer=deps.writer,
            actor=deps.actor("updateCustomer"),
            announce=deps.announce,
            **kwargs,
        )

    nothing = await update(expected_version=customer.row_version, changes={})
    nulls = await update(
        expected_version=customer.row_version, changes={"segment": None, "credit_limit": None}
    )
    stale = await update(expected_version=customer.row_version + 7, changes={"name": "Later"})

    assert codes(nothing) == [("input", WriteErrorCode.VALIDATION)]
    assert codes(nulls) == [
        ("input.segment", WriteErrorCode.VALIDATION),
        ("input.creditLimit", WriteErrorCode.VALIDATION),
    ]
    assert codes(stale) == [("input.expectedVersion", WriteErrorCode.CONFLICT)]
    [after] = await deps.core.customers_by_account([ACCOUNT])
    assert after == customer
    assert await audit_rows(core_url) == []
    assert deps.announce.results == []


# --- orders ----------------------------------------------------------------------


async def test_create_order_is_a_draft_at_list_prices(
    deps: Deps, core_url: str, sims: Simulators
) -> None:
    sku_a, sku_b = (await priced_skus(core_url))[:2]

    number = await draft(deps, [(sku_a, 2), (sku_b, 1)])

    assert await order_status(core_url, number) == "draft"
    assert sims.pricing.state.count("listPrices") == 1
    [price_a, price_b] = await deps.pricing.prices([sku_a, sku_b], "USD")
    assert price_a is not None
    assert price_b is not None
    assert await line_prices(core_url, number) == [price_a.list_price, price_b.list_price]
    [announced] = deps.announce.results
    assert ("Order", number) in announced.changes
    assert announced.events == ()  # a draft is not a business event
    assert await outbox_rows(core_url) == []


async def test_create_order_user_errors_ask_no_bolt_on_and_write_nothing(
    deps: Deps, core_url: str, sims: Simulators
) -> None:
    [sku] = (await priced_skus(core_url))[:1]
    before = await count(core_url, orders)

    outcome = await create_order(
        account_number="C-999999",
        currency="usd",
        lines=[(sku, 0), ("SKU-NOPE", 1)],
        core=deps.core,
        writer=deps.writer,
        pricing=deps.pricing,
        actor=deps.actor("createOrder"),
        announce=deps.announce,
    )

    assert outcome.record is None
    assert codes(outcome) == [
        ("input.currency", WriteErrorCode.VALIDATION),
        ("input.lines[0].quantity", WriteErrorCode.VALIDATION),
        ("input.accountNumber", WriteErrorCode.NOT_FOUND),
        ("input.lines[1].sku", WriteErrorCode.NOT_FOUND),
    ]
    assert await count(core_url, orders) == before
    assert sims.pricing.state.count("listPrices") == 0
    assert deps.announce.results == []


async def test_place_order_prices_from_a_quote_and_reserves_stock(
    deps: Deps, core_url: str, sims: Simulators
) -> None:
    [sku] = (await priced_skus(core_url))[:1]
    before = await stock(core_url, sku, WAREHOUSE)

    await placed(deps, [(sku, 3)])

    assert sims.pricing.state.count("createQuote") == 1
    assert await stock(core_url, sku, WAREHOUSE) == (before[0], before[1] + 3)
    placing = deps.announce.results[-1]
    assert placing.record.status == "placed"
    assert [event.type for event in placing.events] == ["order.placed"]
    assert await line_prices(core_url, placing.record.order_number) == [
        quoted_unit_price(sku, ACCOUNT, "USD")
    ]


async def test_place_order_with_pricing_down_keeps_the_draft(
    deps: Deps, core_url: str, sims: Simulators
) -> None:
    [sku] = (await priced_skus(core_url))[:1]
    number = await draft(deps, [(sku, 1)])
    before = await stock(core_url, sku, WAREHOUSE)
    sims.pricing.state.configure(failure_rate=1.0)

    outcome = await place_order(
        order_number=number,
        warehouse_code=WAREHOUSE,
        core=deps.core,
        writer=deps.writer,
        pricing=deps.pricing,
        actor=deps.actor("placeOrder"),
        announce=deps.announce,
    )

    assert codes(outcome) == [(None, WriteErrorCode.UPSTREAM_UNAVAILABLE)]
    assert "stays DRAFT" in outcome.errors[0].message
    assert await order_status(core_url, number) == "draft"
    assert await stock(core_url, sku, WAREHOUSE) == before
    assert len(deps.announce.results) == 1  # the draft's, nothing since


async def test_cancel_order_releases_stock_and_refuses_a_second_time(
    deps: Deps, core_url: str
) -> None:
    [sku] = (await priced_skus(core_url))[:1]
    before = await stock(core_url, sku, WAREHOUSE)
    number = await placed(deps, [(sku, 2)])

    async def cancel() -> Outcome[Any]:
        return await cancel_order(
            order_number=number,
            writer=deps.writer,
            actor=deps.actor("cancelOrder"),
            announce=deps.announce,
        )

    first = await cancel()
    announced = len(deps.announce.results)
    again = await cancel()

    assert first.errors == []
    assert first.record is not None
    assert first.record.status == "cancelled"
    assert await stock(core_url, sku, WAREHOUSE) == before
    assert codes(again) == [("input.orderNumber", WriteErrorCode.INVALID_STATE)]
    assert len(deps.announce.results) == announced


async def test_ship_order_creates_one_shipment_and_converges(
    deps: Deps, core_url: str, sims: Simulators
) -> None:
    [sku] = (await priced_skus(core_url))[:1]
    before = await stock(core_url, sku, WAREHOUSE)
    number = await placed(deps, [(sku, 2)])
    announced = len(deps.announce.results)

    first = await ship(deps, number)
    again = await ship(deps, number)

    assert first.errors == []
    assert first.record is not None
    assert first.record.status == "shipped"
    shipping = sims.shipping.state
    assert shipping.count("createShipment") == 1
    [call] = shipping.recent("createShipment")
    assert call.idempotency_key == shipment_key(number)
    assert shipping.created_for(number) is not None
    assert await stock(core_url, sku, WAREHOUSE) == (before[0] - 2, before[1])
    # Already shipped: the order as it is, no second shipment, no second announcement.
    assert again.errors == []
    assert again.record == first.record
    assert shipping.count("createShipment") == 1
    assert len(deps.announce.results) == announced + 1


async def test_ship_order_refuses_a_draft_without_calling_shipping(
    deps: Deps, core_url: str, sims: Simulators
) -> None:
    [sku] = (await priced_skus(core_url))[:1]
    number = await draft(deps, [(sku, 1)])

    unknown = await ship(deps, "SO-999999")
    not_placed = await ship(deps, number)

    assert codes(unknown) == [("input.orderNumber", WriteErrorCode.NOT_FOUND)]
    assert codes(not_placed) == [("input.orderNumber", WriteErrorCode.INVALID_STATE)]
    assert sims.shipping.state.count("createShipment") == 0
    assert await order_status(core_url, number) == "draft"
    assert len(deps.announce.results) == 1  # the draft's
