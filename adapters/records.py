"""Plain frozen records that adapters return.

Adapters never hand out ORM rows or JSON dicts: the schema layer builds its
GraphQL types from these records. Money is ``Decimal``; every ``datetime`` is
timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Generic, TypeVar

T = TypeVar("T")


# --- core ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    """A row of the core's ``customers`` table."""

    id: int
    account_number: str
    name: str
    email: str | None
    segment: str
    credit_limit: Decimal
    created_at: datetime
    updated_at: datetime
    row_version: int


@dataclass(frozen=True, slots=True)
class ProductRecord:
    """A row of the core's ``products`` table."""

    id: int
    sku: str
    name: str
    category: str
    unit_cost: Decimal
    active: bool


@dataclass(frozen=True, slots=True)
class WarehouseRecord:
    """A row of the core's ``warehouses`` table."""

    id: int
    code: str
    name: str
    region: str


@dataclass(frozen=True, slots=True)
class InventoryRecord:
    """A row of the core's ``inventory`` table."""

    product_id: int
    warehouse_id: int
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """A row of the core's ``orders`` table (status in lower case, as stored)."""

    id: int
    order_number: str
    customer_id: int
    status: str
    currency: str
    warehouse_id: int | None
    placed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    row_version: int


@dataclass(frozen=True, slots=True)
class OrderLineRecord:
    """A row of the core's ``order_lines`` table."""

    id: int
    order_id: int
    line_no: int
    product_id: int
    quantity: int
    unit_price: Decimal

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a keyset-paginated list, ordered by primary key.

    ``has_next`` tells whether rows exist after the last item; a cursor is
    derived from an item's primary key by the schema layer.
    """

    items: list[T]
    has_next: bool


# --- pricing ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PriceRecord:
    """A current price of one SKU in one currency (Pricing bolt-on)."""

    sku: str
    currency: str
    list_price: Decimal
    floor_price: Decimal
    target_margin_pct: Decimal
    valid_until: datetime


@dataclass(frozen=True, slots=True)
class QuoteLineRecord:
    """One priced line of a quote."""

    sku: str
    quantity: int
    unit_price: Decimal
    discount_pct: Decimal


@dataclass(frozen=True, slots=True)
class QuoteRecord:
    """A basket priced for one customer (Pricing bolt-on)."""

    quote_id: str
    customer_account: str
    currency: str
    lines: tuple[QuoteLineRecord, ...]
    total: Decimal
    expires_at: datetime


# --- crm -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InsightsRecord:
    """Sales insights of one account (CRM bolt-on)."""

    account_number: str
    health_score: int
    churn_risk: str
    lifetime_value: Decimal
    next_best_action: str | None
    owner_name: str
    owner_email: str


@dataclass(frozen=True, slots=True)
class ActivityRecord:
    """One logged sales activity (CRM bolt-on)."""

    id: str
    kind: str
    occurred_at: datetime
    summary: str


# --- shipping --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShipmentRecord:
    """The shipment of one order (Shipping bolt-on)."""

    shipment_id: str
    order_number: str
    carrier: str
    tracking_number: str
    status: str
    eta: date | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TrackingEventRecord:
    """One tracking event of a shipment, oldest first."""

    occurred_at: datetime
    status: str
    location: str
