"""Scopes down to fields, enforced in one place.

``FIELD_SCOPES`` is the one declarative map of ``(type, field) -> scope``;
``ROOT_SCOPES`` gives the scope every field of a root type needs. The
``Permissions`` extension applies both:

- before execution, a mutation (or subscription) whose root fields need a
  scope the client lacks is refused whole, so nothing is written (a mutation
  field missing from the map is refused too: new writes fail closed until
  they get a scope);
- while resolving, a field the client may not see resolves to null with a
  ``FORBIDDEN`` error for that field only (protected fields are nullable).
  Only protected fields pay for this: their resolvers are wrapped once, at
  the schema's first operation (``guard_fields``); the others run untouched.

Resolvers hold no permission checks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    default_field_resolver,
)

from gateway.errors import ErrorCode, PublicError, RequestRejected
from gateway.pipeline import Exchange, Handler, Reply
from gateway.security.clients import (
    CORE_READ,
    CUSTOMERS_WRITE,
    MARGINS_READ,
    ORDERS_WRITE,
)
from plugins import BUILT_IN

#: Every field of these root types needs the scope (mutations are listed per field).
ROOT_SCOPES: MappingProxyType[str, str] = MappingProxyType(
    {"Query": CORE_READ, "Subscription": CORE_READ}
)

#: The scope a field needs beyond its root's, by (GraphQL type name, field name).
#: The code plugins' protected fields (``BoltOnPlugin.field_scopes``) come first.
FIELD_SCOPES: MappingProxyType[tuple[str, str], str] = MappingProxyType(
    {
        **{
            coordinate: scope
            for plugin in BUILT_IN
            for coordinate, scope in plugin.field_scopes.items()
        },
        # costs and margins
        ("Product", "unitCost"): MARGINS_READ,
        ("OrderLine", "marginPct"): MARGINS_READ,
        ("Order", "marginPct"): MARGINS_READ,
        # writes
        ("Mutation", "createCustomer"): CUSTOMERS_WRITE,
        ("Mutation", "updateCustomer"): CUSTOMERS_WRITE,
        ("Mutation", "createOrder"): ORDERS_WRITE,
        ("Mutation", "placeOrder"): ORDERS_WRITE,
        ("Mutation", "cancelOrder"): ORDERS_WRITE,
        ("Mutation", "shipOrder"): ORDERS_WRITE,
    }
)

_UNMAPPED_MUTATION = "<unmapped>"
#: Marks a GraphQL schema whose protected fields are wrapped (``guard_fields``).
_GUARDED = "_gateway_fields_guarded"


class Forbidden(PublicError):
    """The client lacks the scope a field or an operation needs."""

    code = ErrorCode.FORBIDDEN

    def __init__(self, what: str, scope: str) -> None:
        self.scope = scope
        super().__init__(f"{what}: requires the '{scope}' scope")

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, "scope": self.scope}


def required_scope(type_name: str, field_name: str) -> str | None:
    """The scope a field needs, or ``None``; unmapped mutation fields need an impossible one."""
    if field_name.startswith("__"):
        return None  # introspection has its own switch (DisableIntrospection)
    scope = FIELD_SCOPES.get((type_name, field_name))
    if scope is not None:
        return scope
    if type_name == "Mutation":
        return _UNMAPPED_MUTATION
    return ROOT_SCOPES.get(type_name)


def _scopes_of(context: object) -> frozenset[str]:
    scopes: object = getattr(context, "scopes", None)
    return scopes if isinstance(scopes, frozenset) else frozenset()


def _root_fields(
    selection_set: SelectionSetNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    seen: set[str],
) -> Iterator[FieldNode]:
    """The root fields, each fragment expanded once (linear in the document's size)."""
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _root_fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            seen.add(selection.name.value)
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                yield from _root_fields(fragment.selection_set, fragments, seen)


_WHOLE_OPERATION = {OperationType.MUTATION: "Mutation", OperationType.SUBSCRIPTION: "Subscription"}


def refused_root_fields(
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    scopes: frozenset[str],
) -> list[GraphQLError]:
    """One FORBIDDEN error per root field of a mutation or subscription the scopes do not cover.

    Queries are not refused whole: their fields are nulled one by one instead.
    """
    if operation.operation not in _WHOLE_OPERATION:
        return []
    root = _WHOLE_OPERATION[operation.operation]
    errors: list[GraphQLError] = []
    for field in _root_fields(operation.selection_set, fragments, set()):
        scope = required_scope(root, field.name.value)
        if scope is None or scope in scopes:
            continue
        if scope == _UNMAPPED_MUTATION:
            message = f"Mutation.{field.name.value}: no scope grants this mutation"
            extensions: dict[str, Any] = {"code": Forbidden.code}
        else:
            refusal = Forbidden(f"{root}.{field.name.value}", scope)
            message, extensions = str(refusal), refusal.extensions
        errors.append(GraphQLError(message, nodes=[field], extensions=extensions))
    return errors


class RootPermissions:
    """Step: a mutation or subscription the caller may not run is refused whole (403).

    Nothing is written: the refusal comes before execution. Field-level
    checks of queries are the guarded resolvers' (``guard_fields``).
    """

    async def __call__(self, exchange: Exchange, call_next: Handler) -> Reply:
        operation = exchange.require_operation()
        scopes = exchange.identity.scopes if exchange.identity else frozenset()
        errors = refused_root_fields(operation.definition, operation.fragments, scopes)
        if errors:
            raise RequestRejected(
                errors[0].message, status=403, code=ErrorCode.FORBIDDEN, errors=errors
            )
        return await call_next(exchange)


def guard_fields(schema: GraphQLSchema) -> None:
    """Wrap the resolver of every field that needs a scope with the scope check (once).

    Only those fields pay for a check: the others keep their resolvers, and
    no schema-wide middleware wraps every field of every response (which cost
    6 % of the CPU of the nested benchmark query, near the noise of the
    measurement). A refused field resolves to null with a ``FORBIDDEN`` error
    naming the scope.
    """
    if getattr(schema, _GUARDED, False):
        return
    for type_name, graphql_type in schema.type_map.items():
        if type_name.startswith("__") or not isinstance(graphql_type, GraphQLObjectType):
            continue
        for field_name, field in graphql_type.fields.items():
            scope = required_scope(type_name, field_name)
            if scope is not None:
                resolve = field.resolve or default_field_resolver
                field.resolve = _checked(f"{type_name}.{field_name}", scope, resolve)
    setattr(schema, _GUARDED, True)


def scope_guard(what: str, scope: str, resolve: Callable[..., Any]) -> Callable[..., Any]:
    """``resolve`` that first checks the caller has ``scope`` (a declared field's guard)."""
    return _checked(what, scope, resolve)


def _checked(what: str, scope: str, resolve: Callable[..., Any]) -> Callable[..., Any]:
    shown = "<none>" if scope == _UNMAPPED_MUTATION else scope

    def checked(root: Any, info: GraphQLResolveInfo[Any], **arguments: Any) -> Any:
        if scope not in _scopes_of(info.context):
            raise Forbidden(what, shown)
        return resolve(root, info, **arguments)

    return checked
