"""The CRM & Sales-insights bolt-on simulator (contracts/crm.openapi.yaml).

Every account shaped like the core's account numbers (``C-`` and six
digits) exists here; anything else is a 404. Insights and activities are
derived from the account number, so every call answers the same (activity
times count back from the start of the current UTC day). Received business
events are kept in arrival order, de-duplicated by id, and readable from
``CrmState.events()`` or ``GET /_sim/events`` (uncounted, unauthenticated,
like the other admin endpoints).
"""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulators import world
from simulators.common import (
    ContractRoutes,
    Problem,
    SimulatorState,
    api_key_guard,
    decimal_str,
    iso_z,
    json_object,
    json_response,
    simulator_app,
    utc_now,
)

ACCOUNT_PATTERN = re.compile(r"C-\d{6}")
UUID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
EVENT_TYPES = frozenset(
    {"customer.created", "customer.updated", "order.placed", "order.cancelled", "order.shipped"}
)
DEFAULT_ACTIVITY_LIMIT = 20
MAX_ACTIVITY_LIMIT = 100
#: At most this many activities per account; some accounts have none.
MAX_ACTIVITIES = 60

OWNERS = ("Dana Ortiz", "Ravi Menon", "Mei Chen", "Lukas Becker", "Amara Okafor", "Sofia Rossi")
NEXT_BEST_ACTIONS = {
    "high": (
        "Schedule an executive check-in",
        "Offer a loyalty discount",
        "Escalate open support tickets",
    ),
    "medium": (
        "Propose a quarterly business review",
        "Share the new product catalogue",
        "Invite to the customer advisory board",
    ),
    "low": (
        "Offer annual contract renewal",
        "Introduce premium support",
        "Cross-sell accessories",
    ),
}
ACTIVITY_KINDS = ("call", "email", "meeting", "note")
ACTIVITY_SUMMARIES = {
    "call": ("Discussed Q1 volume", "Follow-up on delivery delays", "Checked renewal plans"),
    "email": (
        "Sent updated price list",
        "Shared the onboarding guide",
        "Answered a billing question",
    ),
    "meeting": ("Quarterly business review", "Product demo for operations", "Contract negotiation"),
    "note": (
        "Prefers invoices by email",
        "Budget approved for next year",
        "New purchasing contact",
    ),
}


class CrmState(SimulatorState):
    """Knobs and counters, plus the business events the CRM received.

    Example:
        >>> state = CrmState()
        >>> app = create_crm_app("crm-key", state=state)
        >>> # deliver the same event twice, then:
        >>> len(state.events()), state.deliveries
        (1, 2)
    """

    def __init__(self, service: str = "crm", **options: Any) -> None:
        super().__init__(service, **options)
        self._events: dict[str, dict[str, Any]] = {}
        self._deliveries = 0

    def receive_event(self, event: dict[str, Any]) -> bool:
        """Keep a validated event; False (and nothing kept) for an id already received."""
        key = str(event["id"]).lower()
        with self._lock:
            self._deliveries += 1
            if key in self._events:
                return False
            self._events[key] = copy.deepcopy(event)
            return True

    def events(self) -> list[dict[str, Any]]:
        """The unique events received, in arrival order (copies)."""
        with self._lock:
            return copy.deepcopy(list(self._events.values()))

    @property
    def deliveries(self) -> int:
        """Every valid POST /v1/events, duplicates included."""
        with self._lock:
            return self._deliveries

    def reset(self) -> None:
        """Also forget the received events: they are observations, not data."""
        super().reset()
        with self._lock:
            self._events = {}
            self._deliveries = 0

    def events_snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "events": copy.deepcopy(list(self._events.values())),
                "unique": len(self._events),
                "deliveries": self._deliveries,
            }


# --- derived facts ---------------------------------------------------------


def churn_risk(health_score: int) -> str:
    if health_score >= 70:
        return "low"
    if health_score >= 40:
        return "medium"
    return "high"


def insights_of(account: str) -> dict[str, Any]:
    """The ``Insights`` object of an account, the same on every call."""
    score = world.stable_int(account, "health") % 101
    risk = churn_risk(score)
    lifetime_value = Decimal(world.stable_int(account, "ltv") % 50_000_000) / 100
    owner = OWNERS[world.stable_int(account, "owner") % len(OWNERS)]
    actions = NEXT_BEST_ACTIONS[risk]
    pick = world.stable_int(account, "action")
    # About one account in five has nothing to suggest: the field is nullable.
    action = None if pick % 5 == 0 else actions[pick % len(actions)]
    return {
        "account_number": account,
        "health_score": score,
        "churn_risk": risk,
        "lifetime_value": decimal_str(lifetime_value),
        "next_best_action": action,
        "owner": {"name": owner, "email": f"{owner.lower().replace(' ', '.')}@example.com"},
    }


def activities_of(account: str, limit: int, today: datetime) -> list[dict[str, Any]]:
    """The account's ``limit`` most recent activities, newest first.

    Activity ``k`` (1 is the oldest) has id ``A-<digits>-<k>``; gaps between
    activities are 30 minutes to 3 days, counted back from ``today``'s midnight.
    """
    total = world.stable_int(account, "activities") % (MAX_ACTIVITIES + 1)
    digits = account[2:]
    moment = datetime.combine(today.date(), time(0), tzinfo=UTC)
    result: list[dict[str, Any]] = []
    for ordinal in range(total, max(total - limit, 0), -1):
        key = f"{account}:{ordinal}"
        moment -= timedelta(minutes=30 + world.stable_int(key, "gap") % (3 * 24 * 60 - 30))
        kind = ACTIVITY_KINDS[world.stable_int(key, "kind") % len(ACTIVITY_KINDS)]
        summaries = ACTIVITY_SUMMARIES[kind]
        result.append(
            {
                "id": f"A-{digits}-{ordinal:03d}",
                "kind": kind,
                "occurred_at": iso_z(moment),
                "summary": summaries[world.stable_int(key, "summary") % len(summaries)],
            }
        )
    return result


# --- handlers --------------------------------------------------------------


def _account(request: Request) -> str:
    account = str(request.path_params["account_number"])
    if not ACCOUNT_PATTERN.fullmatch(account):
        raise Problem(404, f"no account {account}")
    return account


async def get_insights(request: Request) -> Response:
    return json_response(insights_of(_account(request)))


async def list_activities(request: Request) -> Response:
    account = _account(request)
    raw = request.query_params.get("limit")
    limit = DEFAULT_ACTIVITY_LIMIT
    if raw is not None:
        try:
            limit = int(raw)
        except ValueError:
            raise Problem(400, "limit must be an integer") from None
        if not 1 <= limit <= MAX_ACTIVITY_LIMIT:
            raise Problem(400, f"limit must be between 1 and {MAX_ACTIVITY_LIMIT}")
    return json_response({"items": activities_of(account, limit, utc_now())})


def validate_event(body: dict[str, Any]) -> dict[str, Any]:
    """The body if it is an ``Event`` per the contract, else a 400 problem naming the field."""
    event_id = body.get("id")
    if not isinstance(event_id, str) or not UUID_PATTERN.fullmatch(event_id):
        raise Problem(400, "id is required and must be a UUID")
    if body.get("type") not in EVENT_TYPES:
        raise Problem(400, f"type must be one of {', '.join(sorted(EVENT_TYPES))}")
    occurred_at = body.get("occurred_at")
    if not isinstance(occurred_at, str) or not _is_date_time(occurred_at):
        raise Problem(400, "occurred_at must be a date-time with a time zone")
    if not isinstance(body.get("data"), dict):
        raise Problem(400, "data is required and must be an object")
    return body


def _is_date_time(value: str) -> bool:
    if "T" not in value.upper():
        return False
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def create_crm_app(api_key: str, *, state: CrmState | None = None) -> Starlette:
    """The CRM simulator: ``X-Api-Key: <api_key>`` on every contract call.

    Example:
        >>> state = CrmState()
        >>> app = create_crm_app("crm-key", state=state)
        >>> # serve it, GET /v1/accounts/C-000042/insights, then:
        >>> state.count("getAccountInsights")
        1
    """
    crm = state if state is not None else CrmState()

    async def receive_event(request: Request) -> Response:
        crm.receive_event(validate_event(await json_object(request)))
        # 202 for a duplicate too: at-least-once delivery must not see an error.
        return Response(status_code=202)

    async def received_events(request: Request) -> Response:
        return json_response(crm.events_snapshot())

    routes = ContractRoutes(crm, api_key_guard(api_key))
    accounts = "/v1/accounts/{account_number}"
    return simulator_app(
        crm,
        [
            routes.route(f"{accounts}/insights", "getAccountInsights", get_insights, "GET"),
            routes.route(f"{accounts}/activities", "listAccountActivities", list_activities, "GET"),
            routes.route("/v1/events", "receiveEvent", receive_event, "POST"),
            Route("/_sim/events", received_events, methods=["GET"]),
        ],
    )


__all__ = ["CrmState", "activities_of", "create_crm_app", "insights_of", "validate_event"]
