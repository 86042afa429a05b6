"""What an operation costs, once it and its variables are known.

Each list's size multiplies down the tree: ``first`` (or the default page
size) for connections, ``limit`` for limited lists, ``list_cost_estimate``
for other lists. A field costs 1, a bolt-on field its configured weight.
``CostLimit`` refuses an operation over ``max_query_cost`` with
``QUERY_TOO_COSTLY`` and keeps its cost on the exchange (the rate limiter
charges it; ``extensions: {"cost": true}`` reports it).

The walk is linear in the document's size, with one memo per selection set
and type: a fragment spread five times, nine levels deep, is walked once,
not 5^9 times. (The document's shape was bounded before validation, in
``gateway.limits.shape``.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValueNode,
    VariableNode,
)

from gateway.errors import ErrorCode, GraphQLRequestError
from gateway.limits.settings import LimitsSettings
from gateway.pipeline import Exchange, Handler, Reply
from plugins import BUILT_IN

#: The hand-written bolt-ons' fields (answered over HTTP: dearer than core fields).
BOLT_ON_FIELDS: frozenset[tuple[str, str]] = frozenset(
    coordinate for plugin in BUILT_IN for coordinate in plugin.costly_fields
)


@dataclass(frozen=True, slots=True)
class CostModel:
    """The numbers the cost of an operation is computed with.

    ``field_costs`` gives the weight of the fields dearer than 1 (bolt-on
    fields), by ``(type, field)``.
    """

    default_page_size: int
    max_page_size: int
    list_estimate: int
    max_cost: int
    field_costs: Mapping[tuple[str, str], int] = field(default_factory=dict)

    @classmethod
    def from_settings(
        cls, settings: LimitsSettings, field_costs: Mapping[tuple[str, str], int] | None = None
    ) -> CostModel:
        # The built-in bolt-ons' fields, then what a caller adds (the declared bolt-ons').
        weights = dict.fromkeys(BOLT_ON_FIELDS, settings.bolt_on_field_cost)
        weights.update(field_costs or {})
        return cls(
            default_page_size=settings.default_page_size,
            max_page_size=settings.max_page_size,
            list_estimate=settings.list_cost_estimate,
            max_cost=settings.max_query_cost,
            field_costs=weights,
        )


# --- the operation's cost ----------------------------------------------------


class _CostWalker:
    def __init__(
        self,
        model: CostModel,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        schema: GraphQLSchema,
    ) -> None:
        self.model = model
        self.fragments = fragments
        self.variables = variables
        self.schema = schema
        self.memo: dict[tuple[int, str], int] = {}

    def _int(self, node: ValueNode | None) -> int | None:
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, VariableNode):
            value = self.variables.get(node.name.value)
            return value if isinstance(value, int) and not isinstance(value, bool) else None
        return None

    def _multiplier(self, node: FieldNode, field_type: Any, arg_defaults: dict[str, Any]) -> int:
        args = {arg.name.value: arg.value for arg in node.arguments or ()}
        if "first" in arg_defaults:
            first = self._int(args.get("first"))
            size = self.model.default_page_size if first is None else first
            return max(0, min(size, self.model.max_page_size))
        if "limit" in arg_defaults:
            limit = self._int(args.get("limit"))
            default = arg_defaults["limit"]
            size = limit if limit is not None else default
            return max(0, size if isinstance(size, int) else self.model.list_estimate)
        unwrapped = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
        if isinstance(unwrapped, GraphQLList):
            # A connection's edges were already multiplied by its ``first``.
            return 1 if node.name.value == "edges" else self.model.list_estimate
        return 1

    def _type(self, name: str, fallback: GraphQLNamedType) -> GraphQLNamedType:
        found = self.schema.get_type(name)
        return found if found is not None else fallback

    def cost(self, selection_set: SelectionSetNode, parent: GraphQLNamedType) -> int:
        key = (id(selection_set), parent.name)
        known = self.memo.get(key)
        if known is not None:
            return known
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self._field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self._type(condition.name.value, parent) if condition else parent
                total += self.cost(selection.selection_set, target)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    target = self._type(fragment.type_condition.name.value, parent)
                    total += self.cost(fragment.selection_set, target)
        self.memo[key] = total
        return total

    def _field(self, node: FieldNode, owner: GraphQLNamedType) -> int:
        name = node.name.value
        if name.startswith("__") or not isinstance(owner, GraphQLObjectType | GraphQLInterfaceType):
            return 1
        definition = owner.fields.get(name)
        if definition is None:
            return 0  # validation has refused it already
        own = self.model.field_costs.get((owner.name, name), 1)
        children = 0
        if node.selection_set is not None:
            named: Any = definition.type
            while isinstance(named, GraphQLNonNull | GraphQLList):
                named = named.of_type
            children = self.cost(node.selection_set, named)
        defaults = {key: arg.default_value for key, arg in definition.args.items()}
        return own + self._multiplier(node, definition.type, defaults) * children


def operation_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    model: CostModel,
) -> int:
    """The cost of one (validated) operation, see the module docstring."""
    root = {
        OperationType.QUERY: schema.query_type,
        OperationType.MUTATION: schema.mutation_type,
        OperationType.SUBSCRIPTION: schema.subscription_type,
    }[operation.operation]
    if root is None:
        return 0
    return _CostWalker(model, fragments, variables, schema).cost(operation.selection_set, root)


class CostLimit:
    """Step: refuse an operation over ``max_query_cost``; keep its cost on the exchange."""

    def __init__(self, schema: GraphQLSchema, model: CostModel) -> None:
        self.schema = schema
        self.model = model

    async def __call__(self, exchange: Exchange, call_next: Handler) -> Reply:
        operation = exchange.require_operation()
        cost = operation_cost(
            self.schema, operation.definition, operation.fragments, operation.variables, self.model
        )
        exchange.cost = cost
        if cost > self.model.max_cost:
            raise GraphQLRequestError(
                f"the query's cost {cost} exceeds the limit of {self.model.max_cost}; "
                "ask for smaller pages (first) or fewer nested lists",
                code=ErrorCode.QUERY_TOO_COSTLY,
                extensions={"cost": cost, "maxCost": self.model.max_cost},
            )
        reply = await call_next(exchange)
        if (exchange.require_params().extensions or {}).get("cost"):
            reply.extensions["cost"] = {"requested": cost, "maximum": self.model.max_cost}
        return reply


__all__ = [
    "BOLT_ON_FIELDS",
    "CostLimit",
    "CostModel",
    "operation_cost",
]
