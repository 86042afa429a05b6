"""The GraphQL schema: strawberry types built from adapter records.

``build_schema()`` is the one place that assembles it; the types hold no I/O
of their own and reach backends through ``resolvers``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from gateway.errors import log_unexpected
from schema.customer import Customer
from schema.mutations import Mutation
from schema.order import Order
from schema.product import Product
from schema.query import Query
from schema.subscriptions import Subscription
from schema.warehouse import Warehouse


class GatewaySchema(strawberry.Schema):
    """A strawberry schema that logs only unexpected errors, with their request id.

    Expected errors (bad input, a bolt-on down) are part of the response, not
    incidents: logging each of them would bury the real ones.
    """

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        context: Any = execution_context.context if execution_context is not None else None
        log_unexpected(errors, getattr(context, "request_id", None))


def build_schema(
    *,
    extensions: Sequence[type[SchemaExtension]] = (),
    mutation: type | None = Mutation,
    subscription: type | None = Subscription,
) -> GatewaySchema:
    """Assemble the gateway's schema with the given extensions (classes, not instances)."""
    return GatewaySchema(
        query=Query,
        mutation=mutation,
        subscription=subscription,
        types=[Customer, Product, Order, Warehouse],
        extensions=list(extensions),
        config=StrawberryConfig(auto_camel_case=True),
    )


__all__ = ["GatewaySchema", "build_schema"]
