"""Money and margin arithmetic, in ``Decimal`` only."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def margin_pct(price: Decimal, cost: Decimal) -> Decimal | None:
    """Margin on ``price`` in percent, two places; ``None`` when the price is zero."""
    if price <= 0:
        return None
    return ((price - cost) / price * HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)
