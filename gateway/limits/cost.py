"""Query limits checked before execution: size, depth, aliases, and cost.

- size: ``max_body_bytes`` bounds the request (``GraphQLEndpoint``) and
  ``MaxTokensLimiter`` the document (the parser stops at the limit);
- depth and aliases: strawberry's ``QueryDepthLimiter`` and
  ``MaxAliasesLimiter`` validation rules;
- cost: ``QueryCost`` walks the chosen operation, multiplying each list's
  size down the tree: ``first`` (or the default page size) for connections,
  ``limit`` for limited lists, ``list_cost_estimate`` for other lists. A
  field costs 1, a bolt-on field ``bolt_on_field_cost``. An operation over
  ``max_query_cost`` is refused before anything runs; otherwise its cost is
  kept on the context (the rate limiter charges it) and reported in
  ``extensions.cost`` when the request asks with ``extensions: {"cost": true}``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
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
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.types import ExecutionResult

from gateway.settings import Settings

#: Fields answered by a bolt-on over HTTP: dearer than core fields.
BOLT_ON_FIELDS: frozenset[tuple[str, str]] = frozenset(
    {
        ("Customer", "insights"),
        ("Customer", "activities"),
        ("Product", "price"),
        ("Order", "shipment"),
    }
)

COST_CODE = "QUERY_TOO_COSTLY"


@dataclass(frozen=True, slots=True)
class CostModel:
    """The numbers the cost of an operation is computed with."""

    default_page_size: int
    max_page_size: int
    list_estimate: int
    bolt_on_cost: int
    max_cost: int

    @classmethod
    def from_settings(cls, settings: Settings) -> CostModel:
        return cls(
            default_page_size=settings.default_page_size,
            max_page_size=settings.max_page_size,
            list_estimate=settings.list_cost_estimate,
            bolt_on_cost=settings.bolt_on_field_cost,
            max_cost=settings.max_query_cost,
        )


class _Walker:
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

    def _int(self, node: ValueNode | None) -> int | None:
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, VariableNode):
            value = self.variables.get(node.name.value)
            return value if isinstance(value, int) and not isinstance(value, bool) else None
        return None

    def _fields(
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType
    ) -> Iterator[tuple[FieldNode, GraphQLNamedType]]:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection, parent
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                yield from self._fields(selection.selection_set, target or parent)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    target = self.schema.get_type(fragment.type_condition.name.value)
                    yield from self._fields(fragment.selection_set, target or parent)

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

    def cost(self, selection_set: SelectionSetNode, parent: GraphQLNamedType) -> int:
        total = 0
        for node, owner in self._fields(selection_set, parent):
            name = node.name.value
            if name.startswith("__") or not isinstance(
                owner, GraphQLObjectType | GraphQLInterfaceType
            ):
                total += 1
                continue
            definition = owner.fields.get(name)
            if definition is None:
                continue  # validation has refused it already
            own = self.model.bolt_on_cost if (owner.name, name) in BOLT_ON_FIELDS else 1
            children = 0
            if node.selection_set is not None:
                named: Any = definition.type
                while isinstance(named, GraphQLNonNull | GraphQLList):
                    named = named.of_type
                children = self.cost(node.selection_set, named)
            defaults = {key: arg.default_value for key, arg in definition.args.items()}
            total += own + self._multiplier(node, definition.type, defaults) * children
        return total


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
    return _Walker(model, fragments, variables, schema).cost(operation.selection_set, root)


class QueryCost(SchemaExtension):
    """Refuses operations over the cost limit; keeps the cost on ``context.cost``.

    Example:
        >>> from gateway.settings import Settings
        >>> factory = QueryCost.factory(CostModel.from_settings(Settings()))
    """

    def __init__(self, *, model: CostModel) -> None:
        self.model = model
        self.cost: int | None = None

    @classmethod
    def factory(cls, model: CostModel) -> Any:
        return lambda: cls(model=model)

    def on_execute(self) -> Iterator[None]:
        execution_context = self.execution_context
        document = execution_context.graphql_document
        if document is None or execution_context.result is not None:
            yield
            return
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        name = execution_context.operation_name
        operation = next(
            (o for o in operations if name is None or (o.name and o.name.value == name)), None
        )
        if operation is not None:
            fragments = {
                d.name.value: d
                for d in document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            self.cost = operation_cost(
                execution_context.schema._schema,
                operation,
                fragments,
                execution_context.variables or {},
                self.model,
            )
            context = execution_context.context
            if hasattr(context, "cost"):
                context.cost = self.cost
            if self.cost > self.model.max_cost:
                error = GraphQLError(
                    f"the query's cost {self.cost} exceeds the limit of {self.model.max_cost}; "
                    "ask for smaller pages (first) or fewer nested lists",
                    extensions={
                        "code": COST_CODE,
                        "cost": self.cost,
                        "maxCost": self.model.max_cost,
                    },
                )
                execution_context.result = ExecutionResult(data=None, errors=[error])
        yield

    def get_results(self) -> dict[str, Any]:
        asked = (self.execution_context.operation_extensions or {}).get("cost")
        if not asked or self.cost is None:
            return {}
        return {"cost": {"requested": self.cost, "maximum": self.model.max_cost}}


def limit_extensions(settings: Settings) -> list[Any]:
    """The size, depth, alias and cost limits as strawberry extension factories."""
    model = CostModel.from_settings(settings)
    # Depth and alias limiters are validation rules. Each limiter instance builds new
    # rule classes, and strawberry's ValidationCache keys on those classes: built per
    # request, every request would be validated afresh. Build the rules once and hand
    # each request a light AddValidationRules holding the same classes.
    rules = [
        *QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.max_query_aliases).validation_rules,
    ]
    return [
        lambda: MaxTokensLimiter(max_token_count=settings.max_query_tokens),
        lambda: AddValidationRules(rules),
        QueryCost.factory(model),
    ]
