"""Declared fields added to the core's GraphQL types, with types generated from the contract.

``add_bolt_on_fields`` runs once per schema at start-up, on graphql-core's
schema under strawberry's (as ``guard_fields`` does). For every declared
field it:

- generates the result's GraphQL type from the contract's schema: object
  types named after their component schema (``#/components/schemas/Forecast``
  -> ``Forecast``; ``<Service><Name>`` when a type of that name exists),
  properties in camelCase, ``format: decimal`` strings as ``Decimal``,
  ``date-time`` as ``DateTime``, ``date`` as ``Date``, ``int64`` as
  ``BigInt`` (a string of digits: a JSON number would round in JavaScript),
  string enums as enums, nested objects and lists as nested types; a property
  not in ``required`` is nullable. Values are converted from the answer's
  JSON text (a decimal never passes through a float);
- adds the field to its core type, nullable (a failing bolt-on nulls only
  it), with the declared ``args`` as arguments of the contract's types and
  defaults, resolved through the request's DataLoader for the field (one
  batch per relation level), and guarded by its ``scope``.

Problems that need the schema (an unknown core type or key field, a name
that exists) raise ``DeclarationError`` naming the file and the key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLEnumValue,
    GraphQLField,
    GraphQLFloat,
    GraphQLInt,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    ValueNode,
)
from graphql.language import IntValueNode, StringValueNode
from graphql.type.definition import GraphQLNullableInputType, GraphQLNullableOutputType

from adapters.errors import BackendUnavailable
from gateway.bolt_ons.contract import Contract, Schema
from gateway.bolt_ons.declaration import (
    Declaration,
    DeclarationError,
    FieldDeclaration,
    result_schema,
)

#: Converts one JSON value of the answer to what the GraphQL type serializes.
Convert = Callable[[Any], Any]
#: Given a declared field, the key attribute of its parent and the argument names
#: (GraphQL -> contract), the field's resolver (``gateway.bolt_ons.loading``).
ResolverFactory = Callable[[FieldDeclaration, str, Mapping[str, str]], Callable[..., Any]]
#: Wraps a resolver with the check of a scope (``gateway.security.permissions``).
Guard = Callable[[str, str, Callable[..., Any]], Callable[..., Any]]


def _serialize_big_int(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"BigInt cannot represent {value!r}")
    return str(value)


def _parse_big_int(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError(f"BigInt cannot represent {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,20}", value):
        return int(value)
    raise TypeError(f"BigInt cannot represent {value!r}: give a whole number or a string of digits")


def _parse_big_int_literal(node: ValueNode, _variables: Any = None) -> int:
    if isinstance(node, IntValueNode | StringValueNode):
        return _parse_big_int(int(node.value) if isinstance(node, IntValueNode) else node.value)
    raise TypeError("BigInt cannot represent a non-integer value")


BIG_INT = GraphQLScalarType(
    "BigInt",
    description=(
        "A 64-bit integer, as a string of digits (a JSON number would be rounded by "
        "JavaScript clients past 2^53). Accepts a string of digits or an Int."
    ),
    serialize=_serialize_big_int,
    parse_value=_parse_big_int,
    parse_literal=_parse_big_int_literal,
)


def camel(name: str) -> str:
    """``expected_units`` -> ``expectedUnits`` (names already camelCase are kept)."""
    head, *rest = re.split(r"[_\-\s]+", name)
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def pascal(name: str) -> str:
    camelled = camel(name)
    return camelled[:1].upper() + camelled[1:]


def enum_name(value: str) -> str:
    """``extended`` -> ``EXTENDED``; ``2-day`` -> ``_2_DAY``."""
    name = re.sub(r"[^0-9A-Za-z_]", "_", value).upper() or "_"
    return f"_{name}" if name[0].isdigit() else name


class _Types:
    """Generates (once) the GraphQL types of one contract's schemas."""

    def __init__(self, schema: GraphQLSchema, declaration: Declaration) -> None:
        self.schema = schema
        self.declaration = declaration
        self.contract: Contract = declaration.contract
        self.service = declaration.name
        self.made: dict[str, GraphQLNamedType] = {}
        # The schema's own scalars (strawberry's), so values serialize as the core's do.
        self.scalars = {
            name: _core_scalar(schema, name) for name in ("Decimal", "DateTime", "Date")
        }

    # --- names ---------------------------------------------------------------

    def _name(self, wanted: str, where: str) -> str:
        name = pascal(wanted)
        if name in self.made or name not in self.schema.type_map:
            return name
        prefixed = pascal(self.service) + name
        if prefixed in self.schema.type_map and prefixed not in self.made:
            raise DeclarationError(
                self.declaration.file, where, f"type names {name} and {prefixed} are both taken"
            )
        return prefixed

    def _add(self, named: GraphQLNamedType) -> None:
        self.made[named.name] = named
        self.schema.type_map[named.name] = named

    # --- output types ----------------------------------------------------------

    def output(
        self, schema: Schema, hint: str, where: str
    ) -> tuple[GraphQLNullableOutputType, Convert]:
        """The nullable GraphQL type of ``schema`` and the converter of its JSON values."""
        ref, resolved = self.contract.deref(schema)
        kind = resolved.get("type")
        if kind == "array":
            inner, convert = self.output(resolved.get("items") or {}, hint, where)
            item_type = (
                inner if resolved.get("items", {}).get("nullable") else GraphQLNonNull(inner)
            )
            return GraphQLList(item_type), _list(convert)
        if kind == "object" or "properties" in resolved:
            return self._object(ref or hint, resolved, where), _object_value
        if "enum" in resolved and kind in (None, "string"):
            enum = self._enum(ref or hint, resolved, where)
            return enum, _member_of(frozenset(resolved["enum"]))
        return _scalar(resolved, self.scalars)

    def _object(self, wanted: str, schema: Schema, where: str) -> GraphQLObjectType:
        name = self._name(wanted, where)
        existing = self.made.get(name)
        if isinstance(existing, GraphQLObjectType):
            return existing
        required = set(schema.get("required") or ())
        properties: Mapping[str, Schema] = schema.get("properties") or {}
        fields: dict[str, GraphQLField] = {}
        object_type = GraphQLObjectType(
            name,
            lambda: fields,
            description=schema.get("description") or f"From the {self.service} bolt-on.",
        )
        self._add(object_type)  # before its properties: a schema may refer to itself
        for prop, prop_schema in properties.items():
            graphql_type, convert = self.output(prop_schema, name + pascal(prop), where)
            mandatory = prop in required and not self.contract.deref(prop_schema)[1].get("nullable")
            fields[camel(prop)] = GraphQLField(
                GraphQLNonNull(graphql_type) if mandatory else graphql_type,
                resolve=_property(self.service, name, prop, convert, mandatory),
                description=prop_schema.get("description"),
            )
        if not fields:
            raise DeclarationError(
                self.declaration.file, where, f"the contract's {wanted} schema has no properties"
            )
        return object_type

    def _enum(self, wanted: str, schema: Schema, where: str) -> GraphQLEnumType:
        name = self._name(wanted, where)
        existing = self.made.get(name)
        if isinstance(existing, GraphQLEnumType):
            return existing
        values: dict[str, GraphQLEnumValue] = {}
        for raw in schema["enum"]:
            member = enum_name(str(raw))
            if member in values:
                raise DeclarationError(
                    self.declaration.file, where, f"enum {wanted}: {raw!r} and another value "
                    f"both become {member}",
                )  # fmt: skip
            values[member] = GraphQLEnumValue(value=raw)
        enum = GraphQLEnumType(name, values, description=schema.get("description"))
        self._add(enum)
        return enum

    # --- input types -------------------------------------------------------------

    def argument(self, schema: Schema, required: bool, hint: str, where: str) -> GraphQLArgument:
        """A field argument of the contract parameter's type, default and nullability."""
        _, resolved = self.contract.deref(schema)
        graphql_type = self._input(schema, hint, where)
        default: Any = resolved.get("default")
        if default is not None:
            default = _input_default(resolved, default)
            return GraphQLArgument(graphql_type, default_value=default)
        return GraphQLArgument(GraphQLNonNull(graphql_type) if required else graphql_type)

    def _input(self, schema: Schema, hint: str, where: str) -> GraphQLNullableInputType:
        ref, resolved = self.contract.deref(schema)
        kind = resolved.get("type")
        if kind == "array":
            return GraphQLList(
                GraphQLNonNull(self._input(resolved.get("items") or {}, hint, where))
            )
        if "enum" in resolved and kind in (None, "string"):
            return self._enum(ref or hint, resolved, where)
        if kind == "object":
            raise DeclarationError(
                self.declaration.file, where, "an object cannot be a field argument yet "
                "(declare its scalar properties instead)",
            )  # fmt: skip
        graphql_type, _ = _scalar(resolved, self.scalars)
        assert isinstance(graphql_type, GraphQLScalarType)
        return graphql_type


def _scalar(
    schema: Schema, core: Mapping[str, GraphQLScalarType]
) -> tuple[GraphQLScalarType, Convert]:
    """The scalar of a contract schema; ``core``: the schema's own Decimal, DateTime, Date."""
    kind, form = schema.get("type"), schema.get("format")
    if kind == "string":
        if form == "decimal":
            return core["Decimal"], _decimal
        if form == "date-time":
            return core["DateTime"], _datetime
        if form == "date":
            return core["Date"], _date
        return GraphQLString, str
    if kind == "integer":
        return (BIG_INT, _int) if form == "int64" else (GraphQLInt, _int)
    if kind == "number":
        return GraphQLFloat, float
    if kind == "boolean":
        return GraphQLBoolean, _bool
    return GraphQLString, str


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int):
        # A JSON number went through a float in the partner's encoder already; refuse it
        # rather than pass on a rounded amount as exact.
        raise ValueError(f"a decimal must be a string, got {type(value).__name__}")
    try:
        return Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal") from None


def _datetime(value: Any) -> datetime:
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone")
    return moment


def _date(value: Any) -> date:
    return date.fromisoformat(str(value))


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{value!r} is not an integer")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{value!r} is not a boolean")
    return value


def _member_of(values: frozenset[Any]) -> Convert:
    """An enum value the contract lists (another is the partner's mistake, not ours)."""

    def member(value: Any) -> Any:
        if value not in values:
            raise ValueError(f"{value!r} is not one of the contract's values")
        return value

    return member


def _object_value(value: Any) -> Any:
    if not isinstance(value, dict):
        raise ValueError("not an object")
    return value


def _list(convert: Convert) -> Convert:
    def converted(value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise ValueError("not a list")
        return [None if item is None else convert(item) for item in value]

    return converted


def _property(
    service: str, type_name: str, prop: str, convert: Convert, mandatory: bool
) -> Callable[..., Any]:
    def resolve(item: Any, info: GraphQLResolveInfo[Any]) -> Any:
        value = item.get(prop) if isinstance(item, dict) else None
        if value is None:
            if mandatory:
                raise BackendUnavailable(service, f"malformed answer: {type_name}.{prop} missing")
            return None
        try:
            return convert(value)
        except (ValueError, TypeError) as exc:
            raise BackendUnavailable(service, f"malformed {type_name}.{prop}: {exc}") from None

    return resolve


def _input_default(schema: Schema, default: Any) -> Any:
    form = schema.get("format")
    if schema.get("type") == "string" and form == "decimal":
        return Decimal(str(default))
    if schema.get("type") == "string" and form == "date":
        return date.fromisoformat(str(default))
    return default


def add_bolt_on_fields(
    schema: GraphQLSchema,
    declarations: Iterable[Declaration],
    *,
    key_attribute: Callable[[str, str], str | None],
    resolver: ResolverFactory,
    guard: Guard,
) -> None:
    """Add every declared field to ``schema`` (see the module docstring).

    Args:
        key_attribute: ``(type, graphql field) -> the Python attribute holding its
            value on the type's objects``, ``None`` when the field is not a plain
            stored one (strawberry's definitions know).
        resolver: makes a declared field's resolver.
        guard: wraps a resolver with a scope check.
    """
    if "BigInt" not in schema.type_map:
        schema.type_map["BigInt"] = BIG_INT
    for declaration in declarations:
        types = _Types(schema, declaration)
        for declared in declaration.fields:
            _add_field(schema, types, declared, key_attribute, resolver, guard)


def _core_scalar(schema: GraphQLSchema, name: str) -> GraphQLScalarType:
    found = schema.type_map.get(name)
    return found if isinstance(found, GraphQLScalarType) else GraphQLString


def _add_field(
    schema: GraphQLSchema,
    types: _Types,
    declared: FieldDeclaration,
    key_attribute: Callable[[str, str], str | None],
    resolver: ResolverFactory,
    guard: Guard,
) -> None:
    file, where = types.declaration.file, declared.where
    parent = schema.type_map.get(declared.on)
    if not isinstance(parent, GraphQLObjectType) or declared.on.startswith("__"):
        core = sorted(
            name
            for name, t in schema.type_map.items()
            if isinstance(t, GraphQLObjectType)
            and not name.startswith("__")
            and name not in ("Query", "Mutation", "Subscription")
            and name not in types.made
        )
        raise DeclarationError(
            file, f"{where}.on", f"{declared.on!r} is not a core type (types: {', '.join(core)})"
        )
    if declared.name in parent.fields:
        raise DeclarationError(
            file, f"{where}.name", f"{declared.on} already has a field {declared.name!r}"
        )
    if declared.key not in parent.fields:
        raise DeclarationError(file, f"{where}.key", f"{declared.on} has no field {declared.key!r}")
    attribute = key_attribute(declared.on, declared.key)
    if attribute is None:
        raise DeclarationError(
            file, f"{where}.key", f"{declared.on}.{declared.key} is computed; a key must be a "
            "stored field (like sku, accountNumber, orderNumber)",
        )  # fmt: skip
    component, item_schema = result_schema(types.contract, declared)
    result_type, _ = types.output(
        item_schema, component or pascal(declared.name), f"{where}.operation"
    )
    if declared.many:
        result_type = GraphQLList(GraphQLNonNull(result_type))
    arguments, names = _arguments(types, declared)
    resolve = resolver(declared, attribute, names)
    if declared.scope is not None:
        resolve = guard(declared.coordinate, declared.scope, resolve)
    parent.fields[declared.name] = GraphQLField(
        result_type,
        args=arguments,
        resolve=resolve,
        description=declared.description or f"From the {declared.service} bolt-on.",
    )


def _arguments(
    types: _Types, declared: FieldDeclaration
) -> tuple[dict[str, GraphQLArgument], dict[str, str]]:
    """The field's arguments (camelCase, contract types and defaults), and their names in
    the contract by GraphQL name."""
    arguments: dict[str, GraphQLArgument] = {}
    names: dict[str, str] = {}
    operation = declared.operation
    for arg in declared.args:
        parameter = operation.parameters.get(arg)
        if parameter is not None:
            arg_schema, required = parameter.schema, parameter.required
        else:
            arg_schema = operation.body_properties()[arg]
            required = arg in ((operation.body or {}).get("required") or ())
        graphql_name = camel(arg)
        arguments[graphql_name] = types.argument(
            arg_schema, required, pascal(declared.name) + pascal(arg), f"{declared.where}.args"
        )
        names[graphql_name] = arg
    return arguments, names


__all__ = ["BIG_INT", "add_bolt_on_fields", "camel", "enum_name", "pascal"]
