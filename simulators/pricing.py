"""The Pricing & Margin bolt-on simulator (contracts/pricing.openapi.yaml).

Prices come from ``simulators.world``, so they agree with the seeded core's
unit costs. Choices the contract leaves open:

- An unknown but well-formed currency (``JPY``) is a 400 on ``listPrices``
  (the only client error that operation defines) and a 422 on
  ``createQuote``; the known ones are ``world.FX_RATES``.
- A SKU repeated in one ``listPrices`` call is answered once.
- ``valid_until`` is the end of a UTC day 0..29 days ahead, fixed per SKU and day.
- A quote's unit price is the list price less the account's negotiated
  discount (``world.account_discount_pct``), not clamped to the floor
  price, so the seeder can derive the same figures.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from simulators import world
from simulators.common import (
    CURRENCY_PATTERN,
    ContractRoutes,
    Problem,
    SimulatorState,
    bearer_guard,
    decimal_str,
    iso_z,
    json_object,
    json_response,
    repeated_param,
    require_lines,
    require_str,
    simulator_app,
    utc_now,
)

#: The contract's limit of SKUs per GET /v1/prices.
MAX_SKUS = 100
#: The contract's limit of lines per quote.
MAX_QUOTE_LINES = 200
QUOTE_TTL = timedelta(minutes=15)


def price_of(sku: str, currency: str, now: datetime) -> dict[str, Any] | None:
    """The ``Price`` object of a SKU, or ``None`` for a SKU the bolt-on does not know."""
    if not world.has_price(sku):
        return None
    days_ahead = world.stable_int(sku, "valid") % 30
    valid_until = datetime.combine(
        now.date() + timedelta(days=days_ahead), time(23, 59, 59), tzinfo=UTC
    )
    return {
        "sku": sku,
        "currency": currency,
        "list_price": decimal_str(world.list_price(sku, currency)),
        "floor_price": decimal_str(world.floor_price(sku, currency)),
        # A JSON number by contract; every target is a multiple of 0.5, exact in binary.
        "target_margin_pct": float(world.target_margin_pct(sku)),
        "valid_until": iso_z(valid_until),
    }


def quoted_unit_price(sku: str, account: str, currency: str) -> Decimal:
    """List price less the account's discount, to the cent."""
    discount = world.account_discount_pct(account)
    return world.money(world.list_price(sku, currency) * (100 - discount) / 100)


async def list_prices(request: Request) -> Response:
    skus = repeated_param(request, "sku", max_items=MAX_SKUS)
    currency = request.query_params.get("currency", "USD")
    if not CURRENCY_PATTERN.fullmatch(currency):
        raise Problem(400, "currency must be three capital letters, e.g. USD")
    if currency not in world.FX_RATES:
        raise Problem(400, f"unsupported currency {currency}")
    now = utc_now()
    found = (price_of(sku, currency, now) for sku in dict.fromkeys(skus))
    return json_response({"items": [price for price in found if price is not None]})


async def create_quote(request: Request) -> Response:
    body = await json_object(request)
    account = require_str(body, "customer_account")
    currency = body.get("currency", "USD")
    if not isinstance(currency, str):
        raise Problem(400, "currency must be a string")
    lines = require_lines(body, max_items=MAX_QUOTE_LINES)
    if currency not in world.FX_RATES:
        raise Problem(422, f"unsupported currency {currency}")
    unknown = [sku for sku, _ in lines if not world.has_price(sku)]
    if unknown:
        raise Problem(422, f"unknown SKU(s): {', '.join(dict.fromkeys(unknown))}")
    return json_response(_quote(account, currency, lines, utc_now()))


def _quote(
    account: str, currency: str, lines: Sequence[tuple[str, int]], now: datetime
) -> dict[str, Any]:
    discount = world.account_discount_pct(account)
    priced = [(sku, quantity, quoted_unit_price(sku, account, currency)) for sku, quantity in lines]
    total = world.money(sum((unit * quantity for _, quantity, unit in priced), Decimal(0)))
    return {
        # Every call is a new quote, so the id is random, not derived.
        "quote_id": f"Q-{uuid.uuid4().hex[:12]}",
        "customer_account": account,
        "currency": currency,
        "lines": [
            {
                "sku": sku,
                "quantity": quantity,
                "unit_price": decimal_str(unit),
                "discount_pct": float(discount),
            }
            for sku, quantity, unit in priced
        ],
        "total": decimal_str(total),
        "expires_at": iso_z(now + QUOTE_TTL),
    }


def _skus(request: Request) -> list[str]:
    return request.query_params.getlist("sku")


def create_pricing_app(token: str, *, state: SimulatorState | None = None) -> Starlette:
    """The Pricing simulator: ``Authorization: Bearer <token>`` on every contract call.

    Example:
        >>> state = SimulatorState("pricing")
        >>> app = create_pricing_app("pricing-token", state=state)
        >>> # serve it, GET /v1/prices?sku=SKU-00001&sku=SKU-00002, then:
        >>> state.batches("listPrices")
        [['SKU-00001', 'SKU-00002']]
    """
    state = state if state is not None else SimulatorState("pricing")
    routes = ContractRoutes(state, bearer_guard(token))
    return simulator_app(
        state,
        [
            routes.route("/v1/prices", "listPrices", list_prices, "GET", keys=_skus),
            routes.route("/v1/quotes", "createQuote", create_quote, "POST"),
        ],
    )


__all__ = ["MAX_SKUS", "create_pricing_app", "price_of", "quoted_unit_price"]
