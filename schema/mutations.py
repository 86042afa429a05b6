"""The root Mutation type: writes through to the core, with payloads and user errors.

Every mutation returns a payload holding the entity after the write (null
when nothing was written) and ``userErrors``: expected failures are data,
each with a ``code`` and the input ``field`` it is about.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Self

import strawberry

from adapters.core.writes import WriteErrorCode, WriteRejected
from adapters.records import CustomerRecord, OrderRecord
from gateway.context import GatewayInfo
from resolvers import customer_writes, order_writes
from resolvers.customer_writes import Outcome
from resolvers.once import once
from schema.customer import Customer, CustomerSegment
from schema.order import Order

UserErrorCode = strawberry.enum(
    WriteErrorCode, name="UserErrorCode", description="Why a mutation wrote nothing."
)


@strawberry.type(description="An expected reason a mutation wrote nothing.")
class UserError:
    field: str | None = strawberry.field(
        description="The input path it is about (`input.lines[1].quantity`), if any."
    )
    message: str
    code: WriteErrorCode

    @classmethod
    def from_rejection(cls, error: WriteRejected) -> UserError:
        return cls(field=error.field, message=error.message, code=WriteErrorCode(error.code))


def _errors(outcome: Outcome[Any]) -> list[UserError]:
    return [UserError.from_rejection(error) for error in outcome.errors]


# --- inputs --------------------------------------------------------------------


@strawberry.input(description="A new customer; the gateway assigns its account number.")
class CreateCustomerInput:
    name: str
    email: str | None = None
    segment: CustomerSegment
    credit_limit: Decimal


@strawberry.input(description="Fields to change; left-out fields keep their value.")
class UpdateCustomerInput:
    account_number: str
    expected_version: int = strawberry.field(
        description="The version you read; a customer changed since is a CONFLICT."
    )
    name: str | None = strawberry.UNSET
    email: str | None = strawberry.field(default=strawberry.UNSET, description="null clears it.")
    segment: CustomerSegment | None = strawberry.UNSET
    credit_limit: Decimal | None = strawberry.UNSET


@strawberry.input(description="One line of a new order.")
class OrderLineInput:
    sku: str
    quantity: int


@strawberry.input(description="A new DRAFT order; the gateway assigns its order number.")
class CreateOrderInput:
    account_number: str
    currency: str = "USD"
    lines: list[OrderLineInput]


@strawberry.input(description="Place a DRAFT order, reserving stock in one warehouse.")
class PlaceOrderInput:
    order_number: str
    warehouse_code: str


@strawberry.input(description="An order, by its number.")
class OrderNumberInput:
    order_number: str


# --- payloads ------------------------------------------------------------------


@strawberry.type
class CustomerPayload:
    customer: Customer | None
    user_errors: list[UserError]

    @classmethod
    def from_outcome(cls, outcome: Outcome[CustomerRecord]) -> Self:
        record = outcome.record
        return cls(
            customer=None if record is None else Customer.from_record(record),
            user_errors=_errors(outcome),
        )


@strawberry.type
class OrderPayload:
    order: Order | None
    user_errors: list[UserError]

    @classmethod
    def from_outcome(cls, outcome: Outcome[OrderRecord]) -> Self:
        record = outcome.record
        return cls(
            order=None if record is None else Order.from_record(record),
            user_errors=_errors(outcome),
        )


@strawberry.type(name="CreateCustomerPayload")
class CreateCustomerPayload(CustomerPayload):
    pass


@strawberry.type(name="UpdateCustomerPayload")
class UpdateCustomerPayload(CustomerPayload):
    pass


@strawberry.type(name="CreateOrderPayload")
class CreateOrderPayload(OrderPayload):
    pass


@strawberry.type(name="PlaceOrderPayload")
class PlaceOrderPayload(OrderPayload):
    pass


@strawberry.type(name="CancelOrderPayload")
class CancelOrderPayload(OrderPayload):
    pass


@strawberry.type(name="ShipOrderPayload")
class ShipOrderPayload(OrderPayload):
    pass


# --- the root type -------------------------------------------------------------


@strawberry.type(description="Write through to the core.")
class Mutation:
    @strawberry.mutation(description="Create a customer (the gateway assigns accountNumber).")
    async def create_customer(
        self, info: GatewayInfo, input: CreateCustomerInput
    ) -> CreateCustomerPayload:
        outcome = await once(
            info.context,
            str(info.path.key),
            lambda: customer_writes.create_customer(
                info.context,
                name=input.name,
                email=input.email,
                segment=input.segment.value,
                credit_limit=input.credit_limit,
            ),
        )
        return CreateCustomerPayload.from_outcome(outcome)

    @strawberry.mutation(description="Change a customer if it is still at expectedVersion.")
    async def update_customer(
        self, info: GatewayInfo, input: UpdateCustomerInput
    ) -> UpdateCustomerPayload:
        segment = input.segment
        outcome = await once(
            info.context,
            str(info.path.key),
            lambda: customer_writes.update_customer(
                info.context,
                account_number=input.account_number,
                expected_version=input.expected_version,
                name=input.name,
                email=input.email,
                segment=segment.value if isinstance(segment, CustomerSegment) else segment,
                credit_limit=input.credit_limit,
            ),
        )
        return UpdateCustomerPayload.from_outcome(outcome)

    @strawberry.mutation(description="Create a DRAFT order (the gateway assigns orderNumber).")
    async def create_order(self, info: GatewayInfo, input: CreateOrderInput) -> CreateOrderPayload:
        outcome = await once(
            info.context,
            str(info.path.key),
            lambda: order_writes.create_order(
                info.context,
                account_number=input.account_number,
                currency=input.currency,
                lines=[(line.sku, line.quantity) for line in input.lines],
            ),
        )
        return CreateOrderPayload.from_outcome(outcome)

    @strawberry.mutation(
        description="Price (Pricing quote), credit-check and reserve stock, all or nothing."
    )
    async def place_order(self, info: GatewayInfo, input: PlaceOrderInput) -> PlaceOrderPayload:
        outcome = await once(
            info.context,
            str(info.path.key),
            lambda: order_writes.place_order(
                info.context, order_number=input.order_number, warehouse_code=input.warehouse_code
            ),
        )
        return PlaceOrderPayload.from_outcome(outcome)

    @strawberry.mutation(description="Cancel a DRAFT or PLACED order, releasing its stock.")
    async def cancel_order(self, info: GatewayInfo, input: OrderNumberInput) -> CancelOrderPayload:
        outcome = await once(
            info.context,
            str(info.path.key),
            lambda: order_writes.cancel_order(info.context, order_number=input.order_number),
        )
        return CancelOrderPayload.from_outcome(outcome)

    @strawberry.mutation(
        description="Create the shipment (idempotent), then move the stock out: SHIPPED."
    )
    async def ship_order(self, info: GatewayInfo, input: OrderNumberInput) -> ShipOrderPayload:
        outcome = await once(
            info.context,
            str(info.path.key),
            lambda: order_writes.ship_order(info.context, order_number=input.order_number),
        )
        return ShipOrderPayload.from_outcome(outcome)


__all__ = ["Mutation", "UserError", "UserErrorCode"]
