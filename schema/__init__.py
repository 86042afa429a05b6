"""The GraphQL schema: strawberry types built from adapter records.

``build_schema()`` is the one place that assembles it; the types hold no I/O
of their own and reach backends through ``resolvers``.
"""

from __future__ import annotations

import strawberry
from strawberry.schema.config import StrawberryConfig

from schema.customer import Customer
from schema.mutations import Mutation
from schema.naming import RememberingNameConverter
from schema.order import Order
from schema.product import Product
from schema.query import Query
from schema.subscriptions import Subscription
from schema.warehouse import Warehouse

GatewaySchema = strawberry.Schema
"""The schema's type: strawberry's, run by the gateway's own pipeline (``gateway.execution``)."""


def build_schema(
    *,
    mutation: type | None = Mutation,
    subscription: type | None = Subscription,
) -> GatewaySchema:
    """Assemble the gateway's schema."""
    return GatewaySchema(
        query=Query,
        mutation=mutation,
        subscription=subscription,
        types=[Customer, Product, Order, Warehouse],
        # @defer and @stream: bolt-on fields can arrive after the core's.
        config=StrawberryConfig(
            auto_camel_case=True,
            name_converter=RememberingNameConverter(auto_camel_case=True),
            enable_experimental_incremental_execution=True,
        ),
    )


def stored_attribute(schema: GatewaySchema, type_name: str, field_name: str) -> str | None:
    """The Python attribute holding ``type_name.field_name`` on the type's objects, or
    ``None`` when that field is computed by a resolver (or does not exist)."""
    definition = schema.get_type_by_name(type_name)
    fields = getattr(definition, "fields", None) or ()
    for candidate in fields:
        if schema.config.name_converter.get_graphql_name(candidate) == field_name:
            return None if candidate.base_resolver is not None else str(candidate.python_name)
    return None


__all__ = ["GatewaySchema", "build_schema", "stored_attribute"]
