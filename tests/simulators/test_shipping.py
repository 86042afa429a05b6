"""The Shipping simulator against shipping.openapi.yaml, over real HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from simulators import world
from simulators.runner import Simulators
from tests.simulators.support import SEEDED_ORDERS, assert_problem

SEEDED_SHIPPED = [
    world.order_number(i)
    for i in range(1, SEEDED_ORDERS + 1)
    if world.seeded_order_status(world.order_number(i)) == "shipped"
]
SEEDED_UNSHIPPED = [
    world.order_number(i)
    for i in range(1, SEEDED_ORDERS + 1)
    if world.seeded_order_status(world.order_number(i)) != "shipped"
]
#: Shipped by the seeder's rule, but beyond the seeded range.
UNSEEDED_SHIPPED = next(
    world.order_number(i)
    for i in range(SEEDED_ORDERS + 1, SEEDED_ORDERS + 100)
    if world.seeded_order_status(world.order_number(i)) == "shipped"
)
STATUSES = {"label_created", "in_transit", "delivered", "exception"}


def _fresh_order() -> str:
    # Not SO-: never seeded, and unique per test run.
    return f"WEB-{uuid.uuid4().hex[:10]}"


def _request(order_number: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "order_number": order_number,
        "warehouse_code": "WH-EU1",
        "lines": [{"sku": "SKU-00042", "quantity": 3}],
    }
    body.update(overrides)
    return body


def _create(shipping: httpx.Client, body: object, key: str | None) -> httpx.Response:
    headers = {} if key is None else {"Idempotency-Key": key}
    return shipping.post("/v1/shipments", json=body, headers=headers)


def _list(shipping: httpx.Client, orders: list[str]) -> list[dict[str, Any]]:
    response = shipping.get("/v1/shipments", params={"order_number": orders})
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_every_operation_needs_a_bearer_token(sims: Simulators, anonymous: httpx.Client) -> None:
    base = sims.shipping.url
    auth = {"Authorization": "Bearer nope"}
    responses = [
        anonymous.get(f"{base}/v1/shipments", params={"order_number": SEEDED_SHIPPED[0]}),
        anonymous.get(f"{base}/v1/shipments/SH-x/events", headers=auth),
        anonymous.post(
            f"{base}/v1/shipments",
            json=_request(_fresh_order()),
            headers={"Idempotency-Key": uuid.uuid4().hex},
        ),
    ]
    for response in responses:
        assert_problem(response, 401)
    assert sims.shipping.state.created() == []


def test_seeded_shipped_orders_have_shipments(shipping: httpx.Client) -> None:
    # Half shipped, half not: the answer holds exactly the shipped ones, in order.
    asked = SEEDED_SHIPPED[:25] + SEEDED_UNSHIPPED[:25]

    items = _list(shipping, asked)

    assert [item["order_number"] for item in items] == SEEDED_SHIPPED[:25]
    for item in items:
        assert item["carrier"] in world.CARRIERS
        assert item["status"] in STATUSES
        assert item["shipment_id"].startswith("SH-")
        assert item["tracking_number"]
        assert datetime.fromisoformat(item["updated_at"]) < datetime.now(UTC)
        assert item["updated_at"].endswith("Z")
        if item["eta"] is not None:
            date.fromisoformat(item["eta"])
        assert (item["eta"] is None) == (item["status"] == "exception")


def test_seeded_shipments_are_stable(shipping: httpx.Client) -> None:
    assert _list(shipping, SEEDED_SHIPPED[:10]) == _list(shipping, SEEDED_SHIPPED[:10])


def test_orders_outside_the_seeded_range_have_no_shipment(shipping: httpx.Client) -> None:
    non_canonical = "SO-" + SEEDED_SHIPPED[0][3:].rjust(7, "0")

    assert _list(shipping, [UNSEEDED_SHIPPED, non_canonical, "SO-²", "nothing"]) == []


def test_batch_limits(shipping: httpx.Client) -> None:
    fifty = [world.order_number(i) for i in range(1, 51)]

    assert_problem(shipping.get("/v1/shipments"), 400)
    assert_problem(shipping.get("/v1/shipments", params={"order_number": [*fifty, "x"]}), 400)
    assert len(_list(shipping, fifty)) == sum(n in SEEDED_SHIPPED for n in fifty)


def test_tracking_events_of_a_seeded_shipment_oldest_first(shipping: httpx.Client) -> None:
    shipments = _list(shipping, SEEDED_SHIPPED[:20])
    delivered = next(s for s in shipments if s["status"] == "delivered")

    response = shipping.get(f"/v1/shipments/{delivered['shipment_id']}/events")

    assert response.status_code == 200
    events = response.json()["items"]
    times = [datetime.fromisoformat(e["occurred_at"]) for e in events]
    assert times == sorted(times)
    assert events[0]["status"] == "label_created"
    assert events[-1]["status"] == "delivered"
    assert events[-1]["occurred_at"] == delivered["updated_at"]
    assert all(e["location"] for e in events)


@pytest.mark.parametrize(
    "shipment_id", ["SH-unknown", "SH-00000000001", "nothing", "SH-abcd000201", "SH-abcd000001"]
)
def test_tracking_events_of_an_unknown_shipment_are_404(
    shipping: httpx.Client, shipment_id: str
) -> None:
    assert_problem(shipping.get(f"/v1/shipments/{shipment_id}/events"), 404)


def test_create_is_idempotent_per_key(sims: Simulators, shipping: httpx.Client) -> None:
    order, key = _fresh_order(), uuid.uuid4().hex

    first = _create(shipping, _request(order), key)
    again = _create(shipping, _request(order), key)

    assert first.status_code == 201
    assert again.status_code == 201
    assert again.json() == first.json()
    shipment = first.json()
    assert shipment["order_number"] == order
    assert shipment["status"] == "label_created"
    assert shipment["carrier"] in world.CARRIERS
    assert [s.shipment_id for s in sims.shipping.state.created()] == [shipment["shipment_id"]]
    assert sims.shipping.state.count("createShipment") == 2
    assert [r.idempotency_key for r in sims.shipping.state.recent("createShipment")] == [key, key]


def test_created_shipment_is_listed_and_tracked(shipping: httpx.Client) -> None:
    order = _fresh_order()
    shipment = _create(shipping, _request(order), uuid.uuid4().hex).json()

    assert _list(shipping, [order]) == [shipment]
    events = shipping.get(f"/v1/shipments/{shipment['shipment_id']}/events").json()["items"]
    assert [e["status"] for e in events] == ["label_created"]
    assert events[0]["occurred_at"] == shipment["updated_at"]
    assert events[0]["location"] == "WH-EU1 dock"


def test_a_second_key_for_the_same_order_is_a_409(sims: Simulators, shipping: httpx.Client) -> None:
    order = _fresh_order()
    first = _create(shipping, _request(order), uuid.uuid4().hex)

    second = _create(shipping, _request(order), uuid.uuid4().hex)

    assert first.status_code == 201
    assert_problem(second, 409)
    assert len([s for s in sims.shipping.state.created() if s.order_number == order]) == 1


def test_a_seeded_shipped_order_cannot_ship_again(shipping: httpx.Client) -> None:
    response = _create(shipping, _request(SEEDED_SHIPPED[0]), uuid.uuid4().hex)

    assert_problem(response, 409)


def test_a_seeded_unshipped_order_can_ship(sims: Simulators, shipping: httpx.Client) -> None:
    # Only one test may ship this order per session: the shipment outlives resets.
    order = SEEDED_UNSHIPPED[-1]

    response = _create(shipping, _request(order), uuid.uuid4().hex)

    assert response.status_code == 201
    assert _list(shipping, [order]) == [response.json()]


def test_a_key_reused_with_another_body_is_a_422(shipping: httpx.Client) -> None:
    order, key = _fresh_order(), uuid.uuid4().hex
    _create(shipping, _request(order), key)

    other = _create(shipping, _request(order, warehouse_code="WH-US1"), key)

    assert_problem(other, 422)


@pytest.mark.parametrize("key", [None, "", "short", "x" * 129])
def test_idempotency_key_is_required_8_to_128_chars(
    sims: Simulators, shipping: httpx.Client, key: str | None
) -> None:
    order = _fresh_order()

    assert_problem(_create(shipping, _request(order), key), 400)

    assert sims.shipping.state.created_for(order) is None
    assert _list(shipping, [order]) == []


def test_idempotency_key_limits_are_inclusive(shipping: httpx.Client) -> None:
    assert _create(shipping, _request(_fresh_order()), "k" * 8).status_code == 201
    assert _create(shipping, _request(_fresh_order()), uuid.uuid4().hex * 4).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"warehouse_code": "WH-EU1", "lines": [{"sku": "SKU-1", "quantity": 1}]},
        {"order_number": "X-1", "lines": [{"sku": "SKU-1", "quantity": 1}]},
        {"order_number": "X-1", "warehouse_code": "WH-EU1"},
        {"order_number": "X-1", "warehouse_code": "WH-EU1", "lines": []},
        {"order_number": "X-1", "warehouse_code": "WH-EU1", "lines": [{"sku": "S", "quantity": 0}]},
        {"order_number": "X-1", "warehouse_code": "WH-EU1", "lines": [{"quantity": 1}]},
        {"order_number": 7, "warehouse_code": "WH-EU1", "lines": [{"sku": "S", "quantity": 1}]},
    ],
)
def test_malformed_shipment_request_is_a_400(
    sims: Simulators, shipping: httpx.Client, body: object
) -> None:
    before = len(sims.shipping.state.created())

    assert_problem(_create(shipping, body, uuid.uuid4().hex), 400)

    assert len(sims.shipping.state.created()) == before


def test_created_shipments_survive_a_reset(sims: Simulators, shipping: httpx.Client) -> None:
    order = _fresh_order()
    shipment = _create(shipping, _request(order), uuid.uuid4().hex).json()

    sims.shipping.state.reset()

    assert _list(shipping, [order]) == [shipment]
