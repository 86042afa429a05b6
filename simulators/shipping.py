"""The Shipping & Logistics bolt-on simulator (contracts/shipping.openapi.yaml).

A shipment exists for

- every order shipped through ``POST /v1/shipments`` in this process, and
- every *seeded* shipped order: ``SO-000001`` .. ``SO-<seeded_orders>`` whose
  ``world.seeded_order_status`` is ``shipped``, derived on demand (nothing
  stored), so the demo's core and this bolt-on agree without a shared store.
  Their times count back from the start of the current UTC day.

Creation is idempotent per ``Idempotency-Key``: the same key with the same
body answers the same shipment (201 again); the same key with another body
is a 422 (as the IETF Idempotency-Key draft advises); another key for an
order that already has a shipment is a 409.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
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
    bearer_guard,
    iso_z,
    json_object,
    json_response,
    repeated_param,
    require_lines,
    require_str,
    simulator_app,
    utc_now,
)

#: The contract's limit of order numbers per GET /v1/shipments.
MAX_ORDERS = 50
IDEMPOTENCY_KEY_LENGTH = range(8, 129)
HUBS = (
    "Leipzig hub",
    "Cologne hub",
    "East Midlands hub",
    "Liège hub",
    "Louisville hub",
    "Memphis hub",
    "Indianapolis hub",
    "Paris hub",
)


@dataclass(frozen=True)
class TrackingEvent:
    """One scan of a parcel."""

    occurred_at: datetime
    status: str
    location: str

    def to_json(self) -> dict[str, Any]:
        return {
            "occurred_at": iso_z(self.occurred_at),
            "status": self.status,
            "location": self.location,
        }


@dataclass(frozen=True)
class Shipment:
    """A shipment with its tracking history (oldest first); ``updated_at`` is the last scan."""

    shipment_id: str
    order_number: str
    carrier: str
    tracking_number: str
    status: str
    eta: date | None
    events: tuple[TrackingEvent, ...]

    @property
    def updated_at(self) -> datetime:
        return self.events[-1].occurred_at

    def to_json(self) -> dict[str, Any]:
        return {
            "shipment_id": self.shipment_id,
            "order_number": self.order_number,
            "carrier": self.carrier,
            "tracking_number": self.tracking_number,
            "status": self.status,
            "eta": None if self.eta is None else self.eta.isoformat(),
            "updated_at": iso_z(self.updated_at),
        }


@dataclass(frozen=True)
class ShipmentRequest:
    """A validated ``ShipmentRequest`` body; equal bodies mean a true repeat."""

    order_number: str
    warehouse_code: str
    lines: tuple[tuple[str, int], ...]


class ShippingState(SimulatorState):
    """Knobs and counters, plus the shipments created through the contract.

    Created shipments survive ``reset()``: the core records the orders as
    shipped, so forgetting them would break the world the gateway sees.

    Example:
        >>> state = ShippingState()
        >>> app = create_shipping_app("ship-token", state=state)
        >>> # POST /v1/shipments with Idempotency-Key k twice, then:
        >>> len(state.created()), state.count("createShipment")
        (1, 2)
    """

    def __init__(self, service: str = "shipping", **options: Any) -> None:
        super().__init__(service, **options)
        self._by_id: dict[str, Shipment] = {}
        self._by_order: dict[str, Shipment] = {}
        self._by_key: dict[str, tuple[ShipmentRequest, Shipment]] = {}

    def created(self) -> list[Shipment]:
        """Shipments created through ``POST /v1/shipments``, oldest first."""
        with self._lock:
            return list(self._by_id.values())

    def created_for(self, order_number: str) -> Shipment | None:
        with self._lock:
            return self._by_order.get(order_number)

    def created_by_id(self, shipment_id: str) -> Shipment | None:
        with self._lock:
            return self._by_id.get(shipment_id)

    def create(
        self, key: str, request: ShipmentRequest, *, already_shipped: bool, now: datetime
    ) -> Shipment:
        """The shipment for ``key``: the stored one for a repeat, else a new one.

        Raises:
            Problem: 422 for a key reused with another body; 409 for an
                order that already has a shipment under another key.
        """
        with self._lock:
            if key in self._by_key:
                first_request, shipment = self._by_key[key]
                if first_request != request:
                    raise Problem(422, "this Idempotency-Key was used with a different request")
                return shipment
            order = request.order_number
            if already_shipped or order in self._by_order:
                raise Problem(409, f"order {order} already has a shipment")
            shipment = new_shipment(request, now)
            self._by_key[key] = (request, shipment)
            self._by_order[order] = shipment
            self._by_id[shipment.shipment_id] = shipment
            return shipment


# --- derived facts ---------------------------------------------------------


def carrier_of(order_number: str) -> str:
    return world.CARRIERS[world.stable_int(order_number, "carrier") % len(world.CARRIERS)]


def tracking_number_of(carrier: str, order_number: str) -> str:
    """A tracking number in the carrier's usual shape."""
    n = world.stable_int(order_number, "tracking")
    if carrier == "UPS":
        return f"1Z{n:016X}"[:18]
    digits = {"DHL": 10, "FedEx": 12, "DPD": 14}.get(carrier, 12)
    return f"{n % 10**digits:0{digits}d}"


def new_shipment(request: ShipmentRequest, now: datetime) -> Shipment:
    """A freshly created shipment: a label, picked up in three days' time at most."""
    order = request.order_number
    carrier = carrier_of(order)
    moment = now.replace(microsecond=0)
    return Shipment(
        shipment_id=f"SH-{uuid.uuid4().hex[:12]}",
        order_number=order,
        carrier=carrier,
        tracking_number=tracking_number_of(carrier, order),
        status="label_created",
        eta=(moment + timedelta(days=3)).date(),
        events=(TrackingEvent(moment, "label_created", f"{request.warehouse_code} dock"),),
    )


def is_seeded_shipped(order_number: str, seeded_orders: int) -> bool:
    """Whether the seeder made ``order_number`` a shipped order (canonical numbers only)."""
    # isascii: world.order_index trusts str.isdigit, which accepts "²".
    index = world.order_index(order_number) if order_number.isascii() else None
    return (
        index is not None
        and 1 <= index <= seeded_orders
        and world.order_number(index) == order_number
        and world.seeded_order_status(order_number) == "shipped"
    )


def _seeded_id(order_number: str, index: int) -> str:
    # Decodable back to the order, so GET .../events needs no stored index.
    return f"SH-{world.stable_int(order_number, 'shipment') % 16**4:04x}{index:06d}"


def _seeded_status(order_number: str) -> str:
    bucket = world.stable_int(order_number, "shipment-status") % 100
    for status, upper in (("label_created", 10), ("in_transit", 45), ("delivered", 95)):
        if bucket < upper:
            return status
    return "exception"


def seeded_shipment(order_number: str, seeded_orders: int, today: date) -> Shipment | None:
    """The derived shipment of a seeded shipped order, or ``None``.

    Status: about 10 % label_created, 35 % in_transit, 50 % delivered,
    5 % exception; shipped 2..4 days before ``today`` (still moving) or
    2..20 days (delivered, exception), every scan before ``today``.
    """
    if not is_seeded_shipped(order_number, seeded_orders):
        return None
    index = world.order_index(order_number)
    assert index is not None  # is_seeded_shipped checked it
    status = _seeded_status(order_number)
    # Parcels still moving left recently; finished ones may be weeks old.
    recent = status in ("label_created", "in_transit")
    days_ago = 2 + world.stable_int(order_number, "shipped-days") % (3 if recent else 19)
    start = datetime.combine(
        today - timedelta(days=days_ago),
        # 06:00..13:00, so the last scan (34 h later) is still before ``today``.
        time(6 + world.stable_int(order_number, "shipped-hour") % 8),
        tzinfo=UTC,
    )
    hub = HUBS[world.stable_int(order_number, "hub") % len(HUBS)]
    second_hub = HUBS[(world.stable_int(order_number, "hub") + 3) % len(HUBS)]
    scans = [("label_created", "Origin warehouse", 0)]
    if status != "label_created":
        scans += [("in_transit", hub, 8), ("in_transit", second_hub, 20)]
    if status == "delivered":
        scans += [("out_for_delivery", "Destination depot", 30), ("delivered", "Recipient", 34)]
    if status == "exception":
        scans += [("exception", second_hub, 26)]
    events = tuple(
        TrackingEvent(start + timedelta(hours=hours), scan, place) for scan, place, hours in scans
    )
    eta: date | None
    if status == "delivered":
        eta = events[-1].occurred_at.date()
    elif status == "exception":
        eta = None
    elif status == "in_transit":
        eta = today + timedelta(days=1 + world.stable_int(order_number, "eta") % 3)
    else:
        eta = start.date() + timedelta(days=3)
    carrier = carrier_of(order_number)
    return Shipment(
        shipment_id=_seeded_id(order_number, index),
        order_number=order_number,
        carrier=carrier,
        tracking_number=tracking_number_of(carrier, order_number),
        status=status,
        eta=eta,
        events=events,
    )


def _seeded_order_of(shipment_id: str) -> str | None:
    body = shipment_id.removeprefix("SH-")
    digits = body[4:]
    if body == shipment_id or len(digits) < 6 or not (digits.isascii() and digits.isdigit()):
        return None
    return world.order_number(int(digits))


# --- request parsing -------------------------------------------------------


def _shipment_request(body: dict[str, Any]) -> ShipmentRequest:
    return ShipmentRequest(
        order_number=require_str(body, "order_number"),
        warehouse_code=require_str(body, "warehouse_code"),
        lines=tuple(require_lines(body)),
    )


def _idempotency_key(request: Request) -> str:
    key = request.headers.get("idempotency-key")
    if key is None:
        raise Problem(400, "the Idempotency-Key header is required")
    if len(key) not in IDEMPOTENCY_KEY_LENGTH:
        raise Problem(400, "the Idempotency-Key header must be 8 to 128 characters long")
    return key


def _order_numbers(request: Request) -> Sequence[str]:
    return request.query_params.getlist("order_number")


def create_shipping_app(
    token: str, *, state: ShippingState | None = None, seeded_orders: int = 0
) -> Starlette:
    """The Shipping simulator: ``Authorization: Bearer <token>`` on every contract call.

    Args:
        token: the bearer token clients must present.
        state: knobs, counters and created shipments (a fresh one if omitted).
        seeded_orders: how many orders the seeder created (``SO-000001``
            onwards); those it made shipped have a derived shipment here.

    Example:
        >>> app = create_shipping_app("ship-token", seeded_orders=20_000)
        >>> # GET /v1/shipments?order_number=SO-000003 answers its shipment
        >>> # if world.seeded_order_status("SO-000003") == "shipped".
    """
    shipping = state if state is not None else ShippingState()

    def find(order_number: str, today: date) -> Shipment | None:
        created = shipping.created_for(order_number)
        if created is not None:
            return created
        return seeded_shipment(order_number, seeded_orders, today)

    async def list_shipments(request: Request) -> Response:
        orders = repeated_param(request, "order_number", max_items=MAX_ORDERS)
        today = utc_now().date()
        found = (find(order, today) for order in dict.fromkeys(orders))
        return json_response({"items": [s.to_json() for s in found if s is not None]})

    async def create_shipment(request: Request) -> Response:
        key = _idempotency_key(request)
        wanted = _shipment_request(await json_object(request))
        shipment = shipping.create(
            key,
            wanted,
            already_shipped=is_seeded_shipped(wanted.order_number, seeded_orders),
            now=utc_now(),
        )
        return json_response(shipment.to_json(), status_code=201)

    def seeded_by_id(shipment_id: str) -> Shipment | None:
        order = _seeded_order_of(shipment_id)
        if order is None:
            return None
        seeded = seeded_shipment(order, seeded_orders, utc_now().date())
        return seeded if seeded is not None and seeded.shipment_id == shipment_id else None

    async def list_tracking_events(request: Request) -> Response:
        shipment_id = str(request.path_params["shipment_id"])
        shipment = shipping.created_by_id(shipment_id) or seeded_by_id(shipment_id)
        if shipment is None:
            raise Problem(404, f"no shipment {shipment_id}")
        return json_response({"items": [event.to_json() for event in shipment.events]})

    async def created_shipments(request: Request) -> Response:
        return json_response({"shipments": [s.to_json() for s in shipping.created()]})

    routes = ContractRoutes(shipping, bearer_guard(token))
    return simulator_app(
        shipping,
        [
            routes.route(
                "/v1/shipments", "listShipments", list_shipments, "GET", keys=_order_numbers
            ),
            routes.route("/v1/shipments", "createShipment", create_shipment, "POST"),
            routes.route(
                "/v1/shipments/{shipment_id}/events",
                "listTrackingEvents",
                list_tracking_events,
                "GET",
            ),
            Route("/_sim/shipments", created_shipments, methods=["GET"]),
        ],
    )


__all__ = [
    "Shipment",
    "ShippingState",
    "TrackingEvent",
    "create_shipping_app",
    "is_seeded_shipped",
    "seeded_shipment",
]
