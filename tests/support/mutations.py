"""The gateway's mutations as GraphQL documents, and running one."""

from __future__ import annotations

from typing import Any

from tests.support.gateway import Gateway

CUSTOMER_FIELDS = "accountNumber name email segment creditLimit version"
ORDER_FIELDS = (
    "orderNumber status currency version placedAt warehouse { code } "
    "lines { lineNo quantity unitPrice product { sku } } total"
)
ERRORS = "userErrors { field message code }"

CREATE_CUSTOMER = f"""
mutation($input: CreateCustomerInput!) {{
  createCustomer(input: $input) {{ customer {{ {CUSTOMER_FIELDS} }} {ERRORS} }}
}}"""
UPDATE_CUSTOMER = f"""
mutation($input: UpdateCustomerInput!) {{
  updateCustomer(input: $input) {{ customer {{ {CUSTOMER_FIELDS} }} {ERRORS} }}
}}"""
CREATE_ORDER = f"""
mutation($input: CreateOrderInput!) {{
  createOrder(input: $input) {{ order {{ {ORDER_FIELDS} }} {ERRORS} }}
}}"""
PLACE_ORDER = f"""
mutation($input: PlaceOrderInput!) {{
  placeOrder(input: $input) {{ order {{ {ORDER_FIELDS} }} {ERRORS} }}
}}"""
CANCEL_ORDER = f"""
mutation($input: OrderNumberInput!) {{
  cancelOrder(input: $input) {{ order {{ {ORDER_FIELDS} }} {ERRORS} }}
}}"""
SHIP_ORDER = f"""
mutation($input: OrderNumberInput!) {{
  shipOrder(input: $input) {{ order {{ {ORDER_FIELDS} }} {ERRORS} }}
}}"""


async def mutate(gateway: Gateway, document: str, input: dict[str, Any], **kw: Any) -> Any:
    """Run a mutation; return its payload (asserting there is no GraphQL error)."""
    body = await gateway.post(document, {"input": input}, **kw)
    assert "errors" not in body, body
    [payload] = body["data"].values()
    return payload


def codes(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(error["field"], error["code"]) for error in payload["userErrors"]]
