"""Resolvers of the order mutations: validate, call the bolt-ons, write through.

Choices worth knowing:

- ``createOrder`` stores each line's **list price** from Pricing
  (``GET /v1/prices`` in the order's currency) as a provisional unit price;
  when Pricing is down or does not price a SKU, that line's price is 0.00.
  A draft is an estimate: it commits no stock and no credit, and
  ``placeOrder`` re-prices every line from a quote, so a draft never waits
  for (or fails with) the Pricing bolt-on.
- ``placeOrder`` asks Pricing for a quote first, outside any transaction
  (no database lock is held across an HTTP call), then writes prices,
  credit check and stock reservation in one transaction. Pricing down: the
  order stays DRAFT and the client gets ``WriteErrorCode.UPSTREAM_UNAVAILABLE``.
- ``shipOrder`` creates the shipment at the Shipping bolt-on with the
  Idempotency-Key ``ship-<order number>-v1`` and *then* commits the core
  change. Should the commit fail, a retry sends the same key and gets the
  same shipment back; a 409 (the order already has a shipment, under any
  key) is resolved by looking the shipment up. Either way the core moves
  the stock once: the transaction re-checks the order is still PLACED.
  Shipping an order already SHIPPED returns it unchanged, without errors.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from adapters.core.writes import (
    DraftLine,
    WriteErrorCode,
    WriteRejected,
)
from adapters.errors import BackendError, BackendRejected, BackendUnavailable
from adapters.records import OrderRecord, ProductRecord, QuoteRecord, ShipmentRecord
from gateway.context import Context
from resolvers.customer_writes import Outcome, actor, check_key, commit, services, unavailable

MAX_LINES = 200
MAX_QUANTITY = 1_000_000
_CURRENCY = re.compile(r"[A-Z]{3}")
ZERO = Decimal("0.00")


def shipment_key(order_number: str) -> str:
    """The Idempotency-Key of an order's shipment: one order, one shipment, ever."""
    return f"ship-{order_number}-v1"


async def create_order(
    context: Context, *, account_number: str, currency: str, lines: Sequence[tuple[str, int]]
) -> Outcome[OrderRecord]:
    errors: list[WriteRejected] = []
    core = context.backends.core
    check_key(account_number, errors, "input.accountNumber")
    for index, (sku, _) in enumerate(lines):
        check_key(sku, errors, f"input.lines[{index}].sku")
    unaskable = bool(errors)  # keys the core must not be asked about
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
    products: list[ProductRecord] = []
    for index, product in enumerate(found):
        if product is None:
            errors.append(
                WriteRejected(
                    WriteErrorCode.NOT_FOUND, "no product has this SKU", f"input.lines[{index}].sku"
                )
            )
        elif not product.active:
            errors.append(
                WriteRejected(
                    WriteErrorCode.VALIDATION,
                    "the product is not active",
                    f"input.lines[{index}].sku",
                )
            )
        else:
            products.append(product)
    if errors:
        return Outcome(errors=errors)
    assert customer is not None
    prices = await _list_prices(context, [p.sku for p in products], currency)
    draft = [
        DraftLine(product.id, quantity, prices.get(product.sku, ZERO))
        for product, (_, quantity) in zip(products, lines, strict=True)
    ]
    try:
        result = await services(context).writer.create_order(
            actor(context, "createOrder"), customer_id=customer.id, currency=currency, lines=draft
        )
    except WriteRejected as exc:  # its Idempotency-Key was taken over meanwhile
        return Outcome(errors=[exc])
    except BackendError as exc:
        return Outcome(errors=[unavailable(exc)])
    return await commit(context, result)


async def _list_prices(context: Context, skus: list[str], currency: str) -> dict[str, Decimal]:
    """List prices of the SKUs Pricing knows; empty when Pricing cannot answer."""
    try:
        prices = await context.backends.pricing.prices(skus, currency)
    except BackendError:
        return {}
    return {price.sku: price.list_price for price in prices if price is not None}


async def place_order(
    context: Context, *, order_number: str, warehouse_code: str
) -> Outcome[OrderRecord]:
    core = context.backends.core
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
    if warehouse is None:
        errors.append(
            WriteRejected(
                WriteErrorCode.NOT_FOUND, "no warehouse has this code", "input.warehouseCode"
            )
        )
    if errors:
        return Outcome(errors=errors)
    assert order is not None
    assert warehouse is not None
    try:
        [lines] = await core.lines_of_orders([order.id])
        products = await core.products_by_id([line.product_id for line in lines])
        [customer] = await core.customers_by_id([order.customer_id])
    except BackendError as exc:
        return Outcome(errors=[unavailable(exc)])
    assert customer is not None
    skus = [product.sku if product is not None else "" for product in products]
    basket = [(sku, line.quantity) for sku, line in zip(skus, lines, strict=True)]
    try:
        quote = await context.backends.pricing.quote(
            customer.account_number, order.currency, basket
        )
    except BackendUnavailable as exc:
        return Outcome(errors=[unavailable(exc, "the order stays DRAFT")])
    except BackendRejected as exc:
        return Outcome(
            errors=[
                WriteRejected(
                    WriteErrorCode.VALIDATION,
                    f"pricing cannot quote this order ({exc.reason}); it stays DRAFT",
                    "input.orderNumber",
                )
            ]
        )
    prices = _quoted_prices(quote, basket)
    if prices is None:
        return Outcome(
            errors=[
                WriteRejected(
                    WriteErrorCode.UPSTREAM_UNAVAILABLE,
                    "pricing returned a quote for other lines; retry",
                )
            ]
        )
    try:
        result = await services(context).writer.place_order(
            actor(context, "placeOrder"),
            order_number=order_number,
            expected_version=order.row_version,
            warehouse_id=warehouse.id,
            unit_prices={line.line_no: price for line, price in zip(lines, prices, strict=True)},
        )
    except WriteRejected as exc:
        return Outcome(errors=[exc])
    except BackendError as exc:
        return Outcome(errors=[unavailable(exc)])
    return await commit(context, result)


def _quoted_prices(quote: QuoteRecord, basket: Sequence[tuple[str, int]]) -> list[Decimal] | None:
    """Unit prices per line from a quote whose lines must match the basket, in order."""
    if len(quote.lines) != len(basket):
        return None
    prices: list[Decimal] = []
    for quoted, (sku, quantity) in zip(quote.lines, basket, strict=True):
        if quoted.sku != sku or quoted.quantity != quantity or quoted.unit_price < 0:
            return None
        prices.append(quoted.unit_price)
    return prices


async def cancel_order(context: Context, *, order_number: str) -> Outcome[OrderRecord]:
    invalid: list[WriteRejected] = []
    check_key(order_number, invalid, "input.orderNumber")
    if invalid:
        return Outcome(errors=invalid)
    try:
        result = await services(context).writer.cancel_order(
            actor(context, "cancelOrder"), order_number=order_number
        )
    except WriteRejected as exc:
        return Outcome(errors=[exc])
    except BackendError as exc:
        return Outcome(errors=[unavailable(exc)])
    return await commit(context, result)


async def ship_order(context: Context, *, order_number: str) -> Outcome[OrderRecord]:
    core = context.backends.core
    invalid: list[WriteRejected] = []
    check_key(order_number, invalid, "input.orderNumber")
    if invalid:
        return Outcome(errors=invalid)
    try:
        [order] = await core.orders_by_number([order_number])
    except BackendError as exc:
        return Outcome(errors=[unavailable(exc)])
    if order is None:
        return Outcome(
            errors=[
                WriteRejected(
                    WriteErrorCode.NOT_FOUND, "no order has this order number", "input.orderNumber"
                )
            ]
        )
    if order.status == "shipped":
        return Outcome(order)  # shipped already: converge, do not ship twice
    if order.status != "placed":
        return Outcome(
            errors=[
                WriteRejected(
                    WriteErrorCode.INVALID_STATE,
                    f"only a placed order can be shipped; this one is {order.status}",
                    "input.orderNumber",
                )
            ]
        )
    assert order.warehouse_id is not None
    try:
        [lines] = await core.lines_of_orders([order.id])
        products = await core.products_by_id([line.product_id for line in lines])
        [warehouse] = await core.warehouses_by_id([order.warehouse_id])
    except BackendError as exc:
        return Outcome(errors=[unavailable(exc)])
    assert warehouse is not None
    basket = [
        (product.sku if product is not None else "", line.quantity)
        for product, line in zip(products, lines, strict=True)
    ]
    try:
        shipment = await _create_shipment(context, order_number, warehouse.code, basket)
    except BackendError as exc:
        return Outcome(errors=[unavailable(exc, "the order stays PLACED")])
    try:
        result = await services(context).writer.ship_order(
            actor(context, "shipOrder"), order_number=order_number, shipment_id=shipment.shipment_id
        )
    except WriteRejected as exc:
        return Outcome(errors=[exc])
    except BackendError as exc:
        return Outcome(
            errors=[
                unavailable(
                    exc, "the shipment exists but the order is not yet SHIPPED: retry shipOrder"
                )
            ]
        )
    return await commit(context, result)


async def _create_shipment(
    context: Context, order_number: str, warehouse_code: str, basket: list[tuple[str, int]]
) -> ShipmentRecord:
    """The order's shipment: created now, or found when Shipping already has one."""
    shipping = context.backends.shipping
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
        raise BackendUnavailable("shipping", "conflict reported but no shipment found")
    return existing


__all__ = ["cancel_order", "create_order", "place_order", "ship_order", "shipment_key"]
