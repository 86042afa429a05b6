"""The order use cases: ``create_order``, ``place_order``, ``cancel_order``, ``ship_order``.

Each validates its input, reads what the decision needs from the core,
calls the bolt-on it depends on, writes through the ``CoreWriter`` and
announces the committed write. Nothing is written when the outcome has
errors.

Choices worth knowing:

- ``create_order`` stores each line's **list price** from Pricing
  (``GET /v1/prices`` in the order's currency) as a provisional unit price;
  when Pricing is down or does not price a SKU, that line's price is 0.00.
  A draft is an estimate: it commits no stock and no credit, and
  ``place_order`` re-prices every line from a quote, so a draft never waits
  for (or fails with) the Pricing bolt-on.
- ``place_order`` asks Pricing for a quote first, outside any transaction
  (no database lock is held across an HTTP call), then writes prices,
  credit check and stock reservation in one transaction. Pricing down: the
  order stays DRAFT and the outcome says ``UPSTREAM_UNAVAILABLE``.
- ``ship_order`` creates the shipment at the Shipping bolt-on with the
  Idempotency-Key ``ship-<order number>-v1`` and *then* commits the core
  change. Should the commit fail, a retry sends the same key and gets the
  same shipment back; a 409 (the order already has a shipment, under any
  key) is resolved by looking the shipment up. Either way the core moves
  the stock once: the transaction re-checks the order is still PLACED.
  Shipping an order already SHIPPED returns it unchanged, without errors.

Example:
    >>> outcome = await cancel_order(
    ...     order_number="SO-000123", writer=writer,
    ...     actor=Actor("anonymous", "cancelOrder"), announce=announce,
    ... )
    >>> outcome.record.status
    'cancelled'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from adapters.core import CoreAdapter
from adapters.core.writes import Actor, CoreWriter, DraftLine, WriteErrorCode, WriteRejected
from adapters.errors import BackendError, BackendRejected, BackendUnavailable
from adapters.pricing import PricingAdapter
from adapters.records import (
    OrderLineRecord,
    OrderRecord,
    ProductRecord,
    QuoteRecord,
    ShipmentRecord,
)
from adapters.shipping import ShippingAdapter
from gateway.writes.use_case import (
    Announce,
    Outcome,
    check_key,
    rejected,
    unavailable,
    write_through,
)

MAX_LINES = 200
MAX_QUANTITY = 1_000_000
_CURRENCY = re.compile(r"[A-Z]{3}")
ZERO = Decimal("0.00")

OrderOutcome = Outcome[OrderRecord]
"""The order after the write, or why nothing was written."""

Basket = list[tuple[str, int]]
"""An order's lines as the bolt-ons take them: ``(sku, quantity)`` in line order."""


def shipment_key(order_number: str) -> str:
    """The Idempotency-Key of an order's shipment: one order, one shipment, ever."""
    return f"ship-{order_number}-v1"


# --- createOrder -----------------------------------------------------------------


async def create_order(
    *,
    account_number: str,
    currency: str,
    lines: Sequence[tuple[str, int]],
    core: CoreAdapter,
    writer: CoreWriter,
    pricing: PricingAdapter,
    actor: Actor,
    announce: Announce,
) -> OrderOutcome:
    """Create a DRAFT order of ``(sku, quantity)`` lines, priced at Pricing's list prices."""
    errors: list[WriteRejected] = []
    check_key(account_number, errors, "input.accountNumber")
    for index, (sku, _) in enumerate(lines):
        check_key(sku, errors, f"input.lines[{index}].sku")
    unaskable = bool(errors)  # keys the core must not be asked about
    _check_draft(currency, lines, errors)
    if unaskable:
        return Outcome(errors=errors)
    try:
        [customer] = await core.customers_by_account([account_number])
        found = await core.products_by_sku([sku for sku, _ in lines]) if lines else []
    except BackendError as exc:
        return Outcome(errors=[unavailable(exc)])
    if customer is None:
        errors.append(
            WriteRejected(
                WriteErrorCode.NOT_FOUND,
                "no customer has this account number",
                "input.accountNumber",
            )
        )
    products = _orderable(found, errors)
    if errors:
        return Outcome(errors=errors)
    assert customer is not None
    prices = await _list_prices(pricing, [p.sku for p in products], currency)
    draft = [
        DraftLine(product.id, quantity, prices.get(product.sku, ZERO))
        for product, (_, quantity) in zip(products, lines, strict=True)
    ]
    # A WriteRejected here: its Idempotency-Key was taken over meanwhile.
    return await write_through(
        writer.create_order(actor, customer_id=customer.id, currency=currency, lines=draft),
        announce,
    )


def _check_draft(
    currency: str, lines: Sequence[tuple[str, int]], errors: list[WriteRejected]
) -> None:
    """The draft's shape: a currency code, 1 to ``MAX_LINES`` lines, sane quantities."""
    if not _CURRENCY.fullmatch(currency):
        errors.append(
            WriteRejected(
                WriteErrorCode.VALIDATION, "must be three capital letters (USD)", "input.currency"
            )
        )
    if not lines:
        errors.append(
            WriteRejected(
                WriteErrorCode.VALIDATION, "an order needs at least one line", "input.lines"
            )
        )
    elif len(lines) > MAX_LINES:
        errors.append(
            WriteRejected(WriteErrorCode.VALIDATION, f"at most {MAX_LINES} lines", "input.lines")
        )
    for index, (_, quantity) in enumerate(lines):
        if not 1 <= quantity <= MAX_QUANTITY:
            errors.append(
                WriteRejected(
                    WriteErrorCode.VALIDATION,
                    f"must be between 1 and {MAX_QUANTITY}",
                    f"input.lines[{index}].quantity",
                )
            )


def _orderable(
    found: Sequence[ProductRecord | None], errors: list[WriteRejected]
) -> list[ProductRecord]:
    """The products of the lines that exist and are active; the others reported."""
    products: list[ProductRecord] = []
    for index, product in enumerate(found):
        path = f"input.lines[{index}].sku"
        if product is None:
            errors.append(WriteRejected(WriteErrorCode.NOT_FOUND, "no product has this SKU", path))
        elif not product.active:
            errors.append(
                WriteRejected(WriteErrorCode.VALIDATION, "the product is not active", path)
            )
        else:
            products.append(product)
    return products


async def _list_prices(
    pricing: PricingAdapter, skus: list[str], currency: str
) -> dict[str, Decimal]:
    """List prices of the SKUs Pricing knows; empty when Pricing cannot answer."""
    try:
        prices = await pricing.prices(skus, currency)
    except BackendError:
        return {}
    return {price.sku: price.list_price for price in prices if price is not None}


# --- placeOrder ------------------------------------------------------------------


async def place_order(
    *,
    order_number: str,
    warehouse_code: str,
    core: CoreAdapter,
    writer: CoreWriter,
    pricing: PricingAdapter,
    actor: Actor,
    announce: Announce,
) -> OrderOutcome:
    """Price a DRAFT order from a quote, credit-check it and reserve its stock: PLACED."""
    invalid: list[WriteRejected] = []
    check_key(order_number, invalid, "input.orderNumber")
    check_key(warehouse_code, invalid, "input.warehouseCode")
    if invalid:
        return Outcome(errors=invalid)
    try:
        [order] = await core.orders_by_number([order_number])
        [warehouse] = await core.warehouses_by_code([warehouse_code])
    except BackendError as exc:
        return Outcome(errors=[unavailable(exc)])
    errors = _placeable(order, warehouse is not None)
    if errors:
        return Outcome(errors=errors)
    assert order is not None
    assert warehouse is not None
    try:
        lines, basket = await _basket(core, order)
        [customer] = await core.customers_by_id([order.customer_id])
    except BackendError as exc:
        return Outcome(errors=[unavailable(exc)])
    assert customer is not None
    prices = await _quoted_prices(pricing, customer.account_number, order.currency, basket)
    if isinstance(prices, WriteRejected):
        return Outcome(errors=[prices])
    return await write_through(
        writer.place_order(
            actor,
            order_number=order_number,
            expected_version=order.row_version,
            warehouse_id=warehouse.id,
            unit_prices={line.line_no: price for line, price in zip(lines, prices, strict=True)},
        ),
        announce,
    )


def _placeable(order: OrderRecord | None, warehouse_found: bool) -> list[WriteRejected]:
    """Why this order cannot be placed in this warehouse (empty: it can, so far)."""
    errors: list[WriteRejected] = []
    if order is None:
        errors.append(
            WriteRejected(
                WriteErrorCode.NOT_FOUND, "no order has this order number", "input.orderNumber"
            )
        )
    elif order.status != "draft":
        errors.append(
            WriteRejected(
                WriteErrorCode.INVALID_STATE,
                f"only a draft order can be placed; this one is {order.status}",
                "input.orderNumber",
            )
        )
    if not warehouse_found:
        errors.append(
            WriteRejected(
                WriteErrorCode.NOT_FOUND, "no warehouse has this code", "input.warehouseCode"
            )
        )
    return errors


async def _quoted_prices(
    pricing: PricingAdapter, account_number: str, currency: str, basket: Basket
) -> list[Decimal] | WriteRejected:
    """Unit prices per line from a fresh quote, or the user error when there is none."""
    try:
        quote = await pricing.quote(account_number, currency, basket)
    except BackendUnavailable as exc:
        return unavailable(exc, "the order stays DRAFT")
    except BackendRejected as exc:
        return WriteRejected(
            WriteErrorCode.VALIDATION,
            f"pricing cannot quote this order ({exc.reason}); it stays DRAFT",
            "input.orderNumber",
        )
    prices = _prices_of(quote, basket)
    if prices is None:
        return WriteRejected(
            WriteErrorCode.UPSTREAM_UNAVAILABLE, "pricing returned a quote for other lines; retry"
        )
    return prices


def _prices_of(quote: QuoteRecord, basket: Basket) -> list[Decimal] | None:
    """Unit prices per line from a quote whose lines must match the basket, in order."""
    if len(quote.lines) != len(basket):
        return None
    prices: list[Decimal] = []
    for quoted, (sku, quantity) in zip(quote.lines, basket, strict=True):
        if quoted.sku != sku or quoted.quantity != quantity or quoted.unit_price < 0:
            return None
        prices.append(quoted.unit_price)
    return prices


async def _basket(core: CoreAdapter, order: OrderRecord) -> tuple[list[OrderLineRecord], Basket]:
    """The order's lines, and the same as ``(sku, quantity)`` for the bolt-ons.

    Raises:
        BackendError: the core could not answer.
    """
    [lines] = await core.lines_of_orders([order.id])
    products = await core.products_by_id([line.product_id for line in lines])
    basket = [
        (product.sku if product is not None else "", line.quantity)
        for product, line in zip(products, lines, strict=True)
    ]
    return lines, basket


# --- cancelOrder -----------------------------------------------------------------


async def cancel_order(
    *, order_number: str, writer: CoreWriter, actor: Actor, announce: Announce
) -> OrderOutcome:
    """Cancel a DRAFT or PLACED order, releasing a placed order's stock."""
    invalid: list[WriteRejected] = []
    check_key(order_number, invalid, "input.orderNumber")
    if invalid:
        return Outcome(errors=invalid)
    # The writer decides under the order's lock whether it may be cancelled.
    return await write_through(writer.cancel_order(actor, order_number=order_number), announce)


# --- shipOrder -------------------------------------------------------------------


async def ship_order(
    *,
    order_number: str,
    core: CoreAdapter,
    writer: CoreWriter,
    shipping: ShippingAdapter,
    actor: Actor,
    announce: Announce,
) -> OrderOutcome:
    """Create the order's shipment at Shipping (idempotently), then mark it SHIPPED."""
    invalid: list[WriteRejected] = []
    check_key(order_number, invalid, "input.orderNumber")
    if invalid:
        return Outcome(errors=invalid)
    try:
        [order] = await core.orders_by_number([order_number])
    except BackendError as exc:
        return Outcome(errors=[unavailable(exc)])
    if order is None:
        return rejected(
            WriteErrorCode.NOT_FOUND, "no order has this order number", "input.orderNumber"
        )
    if order.status == "shipped":
        return Outcome(order)  # shipped already: converge, do not ship twice
    if order.status != "placed":
        return rejected(
            WriteErrorCode.INVALID_STATE,
            f"only a placed order can be shipped; this one is {order.status}",
            "input.orderNumber",
        )
    assert order.warehouse_id is not None  # every placed order has one
    try:
        _, basket = await _basket(core, order)
        [warehouse] = await core.warehouses_by_id([order.warehouse_id])
    except BackendError as exc:
        return Outcome(errors=[unavailable(exc)])
    assert warehouse is not None
    try:
        shipment = await _create_shipment(shipping, order_number, warehouse.code, basket)
    except BackendError as exc:
        return Outcome(errors=[unavailable(exc, "the order stays PLACED")])
    return await write_through(
        writer.ship_order(actor, order_number=order_number, shipment_id=shipment.shipment_id),
        announce,
        unavailable_means="the shipment exists but the order is not yet SHIPPED: retry shipOrder",
    )


async def _create_shipment(
    shipping: ShippingAdapter, order_number: str, warehouse_code: str, basket: Basket
) -> ShipmentRecord:
    """The order's shipment: created now, or found when Shipping already has one."""
    try:
        return await shipping.create_shipment(
            order_number=order_number,
            warehouse_code=warehouse_code,
            lines=basket,
            idempotency_key=shipment_key(order_number),
        )
    except BackendRejected as exc:
        # 409: the order has a shipment under another key; 422: our key with
        # another body. Both mean "it exists": converge on the one there is.
        if exc.status not in (409, 422):
            raise
    [existing] = await shipping.shipments([order_number])
    if existing is None:
        raise BackendUnavailable(shipping.service, "conflict reported but no shipment found")
    return existing


__all__ = [
    "MAX_LINES",
    "MAX_QUANTITY",
    "Basket",
    "OrderOutcome",
    "cancel_order",
    "create_order",
    "place_order",
    "ship_order",
    "shipment_key",
]
