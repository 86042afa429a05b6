"""The simulated world: deterministic facts derived from the shared keys.

The seeder and the three bolt-on simulators derive their data from the same
keys (SKU, account number, order number) with these functions, so that the
demo's core data and bolt-on data agree without either side storing the
other's: a product's list price sits sensibly above its unit cost, and a
seeded order the core calls shipped has a shipment at the Shipping bolt-on.
"""

from __future__ import annotations

import hashlib
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")

#: Currencies the Pricing simulator quotes, with a fixed rate from USD.
FX_RATES: dict[str, Decimal] = {
    "USD": Decimal("1"),
    "EUR": Decimal("0.92"),
    "GBP": Decimal("0.79"),
}

SEGMENTS = ("enterprise", "mid_market", "smb")
CATEGORIES = ("hardware", "software", "services", "accessories", "supplies")
CARRIERS = ("DHL", "UPS", "FedEx", "DPD")


def stable_int(key: str, salt: str = "") -> int:
    """A non-negative integer derived from ``key`` that never changes between runs."""
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def money(value: Decimal) -> Decimal:
    """Round to cents, half up, as the core's NUMERIC(12,2) does."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def sku(index: int) -> str:
    return f"SKU-{index:05d}"


def account_number(index: int) -> str:
    return f"C-{index:06d}"


def order_number(index: int) -> str:
    return f"SO-{index:06d}"


def unit_cost(sku: str) -> Decimal:
    """The core's unit cost of a SKU: 5.00 to 500.00."""
    return money(Decimal(500 + stable_int(sku, "cost") % 49_501) / 100)


def has_price(sku: str) -> bool:
    """Whether the Pricing bolt-on knows the SKU (about 2 % of SKUs are unpriced)."""
    return sku.startswith("SKU-") and stable_int(sku, "priced") % 50 != 0


def markup_pct(sku: str) -> Decimal:
    """List price above unit cost, in percent: 10 to 60."""
    return Decimal(10 + stable_int(sku, "markup") % 51)


def list_price(sku: str, currency: str = "USD") -> Decimal:
    base = unit_cost(sku) * (1 + markup_pct(sku) / 100)
    return money(base * FX_RATES[currency])


def floor_price(sku: str, currency: str = "USD") -> Decimal:
    """The lowest price sales may quote: unit cost plus 5 %."""
    return money(unit_cost(sku) * Decimal("1.05") * FX_RATES[currency])


def target_margin_pct(sku: str) -> Decimal:
    return Decimal(20 + stable_int(sku, "target") % 21) + Decimal("0.5")


def account_discount_pct(account: str) -> Decimal:
    """A customer's negotiated discount on list price: 0.00 to 9.75 %."""
    return Decimal(stable_int(account, "discount") % 40) / 4


def seeded_order_status(number: str) -> str:
    """Status of a seeded order: about 10 % draft, 35 % placed, 45 % shipped, 10 % cancelled."""
    bucket = stable_int(number, "status") % 100
    if bucket < 10:
        return "draft"
    if bucket < 45:
        return "placed"
    if bucket < 90:
        return "shipped"
    return "cancelled"


def order_index(number: str) -> int | None:
    """The sequence number inside ``SO-000123``, or ``None`` for another shape."""
    if not number.startswith("SO-") or not number[3:].isdigit():
        return None
    return int(number[3:])
