"""The CRM simulator against crm.openapi.yaml, over real HTTP."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from simulators import world
from simulators.crm import MAX_ACTIVITIES
from simulators.runner import Simulators
from tests.simulators.support import assert_problem
from tests.support.simulators import CRM_API_KEY

MONEY = re.compile(r"^\d+\.\d{2}$")


def _activity_total(account: str) -> int:
    return world.stable_int(account, "activities") % (MAX_ACTIVITIES + 1)


#: An account with more activities than the default page of 20.
BUSY = next(
    world.account_number(i) for i in range(1, 1000) if _activity_total(world.account_number(i)) > 25
)


def _event(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "type": "order.placed",
        "occurred_at": "2026-11-26T10:00:00Z",
        "data": {"order_number": "SO-000123", "total": "10.00"},
    }
    event.update(overrides)
    return event


def test_every_operation_needs_the_api_key(sims: Simulators, anonymous: httpx.Client) -> None:
    base = sims.crm.url
    calls = [
        ("GET", f"{base}/v1/accounts/C-000042/insights", None),
        ("GET", f"{base}/v1/accounts/C-000042/activities", None),
        ("POST", f"{base}/v1/events", _event()),
    ]
    for method, url, body in calls:
        for headers in ({}, {"X-Api-Key": "wrong"}, {"Authorization": f"Bearer {CRM_API_KEY}"}):
            response = anonymous.request(method, url, json=body, headers=headers)
            assert_problem(response, 401)
    assert sims.crm.state.events() == []


def test_insights_are_derived_and_consistent(crm: httpx.Client) -> None:
    first = crm.get("/v1/accounts/C-000042/insights")
    second = crm.get("/v1/accounts/C-000042/insights")

    assert first.status_code == 200
    insights = first.json()
    assert insights == second.json()
    assert insights["account_number"] == "C-000042"
    assert 0 <= insights["health_score"] <= 100
    score = insights["health_score"]
    expected_risk = "low" if score >= 70 else "medium" if score >= 40 else "high"
    assert insights["churn_risk"] == expected_risk
    assert MONEY.match(insights["lifetime_value"])
    assert Decimal(insights["lifetime_value"]) >= 0
    assert set(insights["owner"]) == {"name", "email"}
    assert insights["owner"]["email"].endswith("@example.com")


def test_insights_vary_by_account_and_next_best_action_may_be_null(crm: httpx.Client) -> None:
    many = [
        crm.get(f"/v1/accounts/{world.account_number(i)}/insights").json() for i in range(1, 41)
    ]

    assert len({item["health_score"] for item in many}) > 10
    assert {item["churn_risk"] for item in many} == {"low", "medium", "high"}
    actions = [item["next_best_action"] for item in many]
    assert None in actions
    assert any(isinstance(action, str) for action in actions)


@pytest.mark.parametrize("account", ["C-42", "C-0000421", "__probe__", "c-000042", "SO-000042"])
def test_unknown_account_shapes_are_404(crm: httpx.Client, account: str) -> None:
    assert_problem(crm.get(f"/v1/accounts/{account}/insights"), 404)
    assert_problem(crm.get(f"/v1/accounts/{account}/activities"), 404)


def test_activities_default_to_twenty_most_recent_first(crm: httpx.Client) -> None:
    response = crm.get(f"/v1/accounts/{BUSY}/activities")

    assert response.status_code == 200
    items = response.json()["items"]
    assert len(items) == 20
    times = [datetime.fromisoformat(item["occurred_at"]) for item in items]
    assert times == sorted(times, reverse=True)
    assert len(set(times)) == len(times)
    assert times[0] < datetime.now(UTC)
    assert len({item["id"] for item in items}) == 20
    assert {item["kind"] for item in items} <= {"call", "email", "meeting", "note"}
    assert all(item["summary"] and item["occurred_at"].endswith("Z") for item in items)


def test_activities_limit_takes_a_prefix_and_is_deterministic(crm: httpx.Client) -> None:
    five = crm.get(f"/v1/accounts/{BUSY}/activities", params={"limit": 5}).json()["items"]
    every = crm.get(f"/v1/accounts/{BUSY}/activities", params={"limit": 100}).json()["items"]

    assert len(five) == 5
    assert len(every) == _activity_total(BUSY)
    assert every[:5] == five


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "2.5"])
def test_activities_limit_out_of_range_is_a_400(crm: httpx.Client, limit: str) -> None:
    assert_problem(crm.get(f"/v1/accounts/{BUSY}/activities", params={"limit": limit}), 400)


def test_event_is_accepted_and_kept(sims: Simulators, crm: httpx.Client) -> None:
    event = _event()

    response = crm.post("/v1/events", json=event)

    assert response.status_code == 202
    assert sims.crm.state.events() == [event]
    assert sims.crm.state.deliveries == 1


def test_duplicate_events_are_accepted_and_kept_once(sims: Simulators, crm: httpx.Client) -> None:
    first, second = _event(type="customer.created"), _event(type="order.shipped")
    # The same id, also in capitals (ids are UUIDs), with another body: a duplicate is ignored.
    repeat = {**first, "id": first["id"].upper(), "data": {"redelivered": True}}

    again = {**second, "occurred_at": "2026-11-27T00:00:00Z"}

    statuses = [crm.post("/v1/events", json=e).status_code for e in (first, second, repeat, again)]

    assert statuses == [202, 202, 202, 202]
    assert sims.crm.state.events() == [first, second]
    assert sims.crm.state.deliveries == 4
    assert sims.crm.state.count("receiveEvent") == 4


def test_events_are_readable_over_the_admin_endpoint(
    sims: Simulators, crm: httpx.Client, anonymous: httpx.Client
) -> None:
    event = _event()
    crm.post("/v1/events", json=event)
    crm.post("/v1/events", json=event)

    body = anonymous.get(f"{sims.crm.url}/_sim/events").json()

    assert body == {"events": [event], "unique": 1, "deliveries": 2}


def test_reset_forgets_events(sims: Simulators, crm: httpx.Client, anonymous: httpx.Client) -> None:
    crm.post("/v1/events", json=_event())

    anonymous.post(f"{sims.crm.url}/_sim/reset")

    assert sims.crm.state.events() == []
    assert sims.crm.state.deliveries == 0


@pytest.mark.parametrize(
    "event",
    [
        _event(id="not-a-uuid"),
        _event(id=12345),
        _event(type="order.deleted"),
        _event(occurred_at="2026-11-26T10:00:00"),
        _event(occurred_at="2026-11-26"),
        _event(occurred_at="yesterday"),
        _event(data=[1, 2]),
        _event(data=None),
        {key: value for key, value in _event().items() if key != "data"},
        ["an", "array"],
    ],
)
def test_invalid_events_are_a_400_and_not_kept(
    sims: Simulators, crm: httpx.Client, event: object
) -> None:
    assert_problem(crm.post("/v1/events", json=event), 400)
    assert sims.crm.state.events() == []
    assert sims.crm.state.deliveries == 0


def test_event_body_that_is_not_json_is_a_400(crm: httpx.Client) -> None:
    response = crm.post("/v1/events", content=b"\x00", headers={"Content-Type": "application/json"})
    assert_problem(response, 400)


def test_every_event_type_of_the_contract_is_accepted(sims: Simulators, crm: httpx.Client) -> None:
    types = ["customer.created", "customer.updated", "order.placed", "order.cancelled"]
    types.append("order.shipped")

    for event_type in types:
        assert crm.post("/v1/events", json=_event(type=event_type)).status_code == 202

    assert [e["type"] for e in sims.crm.state.events()] == types
