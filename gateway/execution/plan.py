"""Compile a validated operation into a tree of field plans.

A plan is what graphql-core's executor works out again for every object of
every request: which fields a selection set holds once fragments, inline
fragments, aliases and ``@skip``/``@include`` are applied
(``collect_fields``), each field's definition and resolver, its arguments
when they are literals, and how its return type is completed. The plan is
built with graphql-core's own ``collect_fields``/``collect_subfields`` and
``get_argument_values``, so the grouping, the order of response keys and the
coerced arguments are the ones graphql-core computes.

``compile_operation`` returns ``None`` for anything it does not cover, and the
caller runs the operation through graphql-core instead:

- mutations (executed serially) and subscriptions;
- introspection (``__schema``, ``__type``);
- fragments with variable definitions (experimental fragment arguments),
  ``@defer``/``@stream`` and ``@experimental_disable_error_propagation``;
- a field the schema does not define on its type (validation refuses those);
- selections nested deeper than the interpreter's recursion limit.

``@skip``/``@include`` with a variable condition are supported: the values of
those variables are part of the plan's key (``condition_variables``).
"""

from __future__ import annotations

import builtins
import datetime
import decimal
import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphql import (
    BooleanValueNode,
    DocumentNode,
    EnumValueNode,
    FieldNode,
    FloatValueNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLAbstractType,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
)
from graphql.execution.collect_fields import (
    FieldDetailsList,
    FragmentDetails,
    collect_fields,
    collect_subfields,
)
from graphql.execution.values import VariableValues, get_argument_values
from graphql.type.directives import GraphQLDisableErrorPropagationDirective

if TYPE_CHECKING:
    from strawberry.types.field import StrawberryField

__all__ = [
    "AbstractCompletion",
    "Completion",
    "FieldPlan",
    "LeafCompletion",
    "ListCompletion",
    "NonNullCompletion",
    "ObjectCompletion",
    "OperationPlan",
    "ResolverKind",
    "compile_operation",
    "condition_variables",
    "select_operation",
]

#: strawberry's resolver of a field without a resolver of its own (an attribute read).
_STRAWBERRY_BASIC = "GraphQLCoreConverter.from_resolver.<locals>._get_basic_result"
#: strawberry's ``is_type_of`` of object types with interfaces; it never reads ``info``.
_STRAWBERRY_IS_TYPE_OF = (
    "GraphQLCoreConverter.from_object.<locals>._get_is_type_of.<locals>.is_type_of"
)
_STRAWBERRY_BACKREF = "strawberry-definition"

#: Argument values that cannot be changed by a resolver, so may be shared by requests.
_IMMUTABLE = (
    str,
    int,
    float,
    bool,
    type(None),
    decimal.Decimal,
    enum.Enum,
    datetime.date,
    datetime.time,
    datetime.timedelta,
)


class ResolverKind(enum.IntEnum):
    """How a field's value is obtained."""

    #: strawberry's attribute getter: ``getattr(source, python_name)``, no info, no coroutine.
    ATTRIBUTE = 0
    #: ``__typename``: the parent type's name.
    TYPENAME = 1
    #: anything else: ``field.resolve`` (or graphql-core's default resolver) with an info.
    CALL = 2
    #: strawberry's resolver wrapper, inlined: see ``StrawberryCall``.
    STRAWBERRY = 3


class CompletionTag(enum.IntEnum):
    NON_NULL = 0
    LIST = 1
    LEAF = 2
    OBJECT = 3
    ABSTRACT = 4


class LeafFast(enum.IntEnum):
    """Shortcuts of ``coerce_output_value`` that return the value itself."""

    NONE = 0
    #: String or ID: a ``str`` is returned as it is.
    STR = 1
    #: Boolean: a ``bool`` is returned as it is.
    BOOL = 2
    #: Int: an ``int`` (not a ``bool``) within 32 bits is returned as it is.
    INT = 3


@dataclass(slots=True, eq=False)
class NonNullCompletion:
    inner: Completion
    tag: CompletionTag = CompletionTag.NON_NULL


@dataclass(slots=True, eq=False)
class ListCompletion:
    list_type: GraphQLList[Any]
    item_type: GraphQLOutputType
    inner: Completion
    #: The items' leaf completion (maybe under non-null), for the leaf shortcuts.
    leaf_items: LeafCompletion | None
    tag: CompletionTag = CompletionTag.LIST


@dataclass(slots=True, eq=False)
class LeafCompletion:
    type: GraphQLScalarType | GraphQLEnumType
    coerce: Callable[[Any], Any]
    fast: LeafFast
    tag: CompletionTag = CompletionTag.LEAF


@dataclass(slots=True, eq=False)
class ObjectCompletion:
    type: GraphQLObjectType
    fields: list[FieldPlan]
    #: ``type.is_type_of`` or ``None``.
    is_type_of: Callable[[Any, Any], Any] | None
    #: False when ``is_type_of`` is strawberry's, which ignores its info argument.
    is_type_of_needs_info: bool
    tag: CompletionTag = CompletionTag.OBJECT


@dataclass(slots=True, eq=False)
class AbstractCompletion:
    type: GraphQLAbstractType
    #: The object completion of each possible type, by name.
    objects: dict[str, ObjectCompletion]
    tag: CompletionTag = CompletionTag.ABSTRACT


Completion = (
    NonNullCompletion | ListCompletion | LeafCompletion | ObjectCompletion | AbstractCompletion
)


@dataclass(slots=True, eq=False)
class StrawberryCall:
    """What strawberry's resolver wrapper does for a field, to be done without the wrapper.

    For a field with a resolver function, no field extensions and no exception
    handlers, strawberry's ``resolve`` (``_async_resolver`` or ``_resolver``)
    builds a ``strawberry.Info``, converts the arguments (``get_arguments``),
    and calls ``field.get_result`` -> ``base_resolver(*args, **kwargs)`` ->
    ``wrapped_func(*args, **kwargs)``; the async wrapper awaits the result
    (``await_maybe``). The runner does the same calls in the same order, in one
    frame (for async fields: in one coroutine, where strawberry's would run).
    """

    make_info: Callable[[Any], Any]
    function: Callable[..., Any]
    self_parameter: bool
    parent_name: str | None
    root_name: str | None
    info_name: str | None
    #: Arguments to convert with strawberry's ``get_arguments``; else none at all.
    has_arguments: bool
    is_async: bool
    field: Any
    converter: Any
    #: ``convert_arguments`` of literal arguments, done once (immutable values only).
    converted: dict[str, Any] | None = None


@dataclass(slots=True, eq=False)
class FieldPlan:
    """One response key of a selection set, resolved and completed as graphql-core would."""

    key: str
    name: str
    parent_type: GraphQLObjectType
    parent_name: str
    definition: GraphQLField
    return_type: GraphQLOutputType
    details: FieldDetailsList
    nodes: list[FieldNode]
    kind: ResolverKind
    #: ATTRIBUTE: the python attribute name. ATTRIBUTE and STRAWBERRY: the resolver the
    #: plan stands for; when the field's resolver is no longer it, the plan calls the field's.
    attribute: str
    basic_resolve: Any
    strawberry: StrawberryCall | None
    #: Coerced arguments shared by every request, or ``None``: coerce them per request.
    arguments: dict[str, Any] | None
    completion: Completion
    #: The completion is a scalar or enum (maybe non-null): no path unless it fails.
    leaf: bool
    non_null: bool
    #: For leaves: the leaf completion under the non-null wrapper.
    leaf_completion: LeafCompletion | None
    #: The completion needs a resolve info even when the resolver does not.
    needs_info: bool


@dataclass(slots=True, eq=False)
class OperationPlan:
    """A compiled query operation: the root selection set's field plans."""

    operation: OperationDefinitionNode
    root_type: GraphQLObjectType
    root: ObjectCompletion
    fragment_definitions: dict[str, FragmentDefinitionNode]
    fragments: dict[str, FragmentDetails]
    #: Count of field plans, a measure of the plan's size.
    size: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class _Unsupported(Exception):
    """Raised inside the compiler for anything that must fall back to graphql-core."""


def select_operation(
    document: DocumentNode, operation_name: str | None
) -> tuple[OperationDefinitionNode | None, dict[str, FragmentDefinitionNode]]:
    """The operation graphql-core would run (or ``None``) and the fragment definitions."""
    operation: OperationDefinitionNode | None = None
    fragments: dict[str, FragmentDefinitionNode] = {}
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            if operation_name is None:
                if operation is not None:
                    return None, fragments  # several operations and no name: an error
                operation = definition
            elif definition.name and definition.name.value == operation_name:
                operation = definition
        elif isinstance(definition, FragmentDefinitionNode):
            fragments[definition.name.value] = definition
    return operation, fragments


def _selection_sets(
    operation: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode]
) -> Iterator[SelectionSetNode]:
    stack = [operation.selection_set, *(f.selection_set for f in fragments.values())]
    while stack:
        selection_set = stack.pop()
        yield selection_set
        for selection in selection_set.selections:
            if (
                isinstance(selection, FieldNode | InlineFragmentNode)
                and selection.selection_set is not None
            ):
                stack.append(selection.selection_set)


def condition_variables(
    operation: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode]
) -> tuple[str, ...]:
    """Names of the variables ``@skip``/``@include`` conditions read (sorted, once each)."""
    names: set[str] = set()
    for selection_set in _selection_sets(operation, fragments):
        for selection in selection_set.selections:
            for directive in selection.directives or ():
                if directive.name.value not in ("skip", "include"):
                    continue
                for argument in directive.arguments or ():
                    if isinstance(argument.value, VariableNode):
                        names.add(argument.value.name.value)
    return tuple(sorted(names))


def _has_variable(node: ValueNode) -> bool:
    if isinstance(node, VariableNode):
        return True
    if isinstance(node, ListValueNode):
        return any(_has_variable(value) for value in node.values)
    if isinstance(node, ObjectValueNode):
        return any(_has_variable(f.value) for f in node.fields)
    return not isinstance(
        node,
        IntValueNode
        | FloatValueNode
        | StringValueNode
        | BooleanValueNode
        | NullValueNode
        | EnumValueNode,
    )


def _immutable(value: Any) -> bool:
    if isinstance(value, tuple):
        return all(_immutable(item) for item in value)
    return isinstance(value, _IMMUTABLE)


class _Compiler:
    def __init__(
        self,
        schema: GraphQLSchema,
        operation: OperationDefinitionNode,
        fragments: dict[str, FragmentDetails],
        variable_values: VariableValues,
    ) -> None:
        self.schema = schema
        self.operation = operation
        self.fragments = fragments
        self.variable_values = variable_values
        self.size = 0

    def object_completion(
        self, object_type: GraphQLObjectType, details: FieldDetailsList | None
    ) -> ObjectCompletion:
        if details is None:
            collected = collect_fields(
                self.schema, self.fragments, self.variable_values, object_type, self.operation
            )
        else:
            collected = collect_subfields(
                self.schema,
                self.fragments,
                self.variable_values,
                self.operation,
                object_type,
                details,
            )
        grouped, new_defer_usages, _forbidden = collected
        if new_defer_usages:
            raise _Unsupported("@defer")
        fields = [self.field_plan(object_type, key, group) for key, group in grouped.items()]
        is_type_of = object_type.is_type_of
        needs_info = is_type_of is not None and (
            getattr(is_type_of, "__qualname__", None) != _STRAWBERRY_IS_TYPE_OF
        )
        return ObjectCompletion(object_type, fields, is_type_of, needs_info)

    def completion(self, return_type: GraphQLOutputType, details: FieldDetailsList) -> Completion:
        if isinstance(return_type, GraphQLNonNull):
            return NonNullCompletion(self.completion(return_type.of_type, details))
        if isinstance(return_type, GraphQLList):
            if any(
                directive.name.value == "stream"
                for detail in details
                for directive in detail.node.directives or ()
            ):
                raise _Unsupported("@stream")  # its items arrive later: graphql-core's work
            inner = self.completion(return_type.of_type, details)
            leaf = inner.inner if isinstance(inner, NonNullCompletion) else inner
            return ListCompletion(
                return_type,
                return_type.of_type,
                inner,
                leaf if isinstance(leaf, LeafCompletion) else None,
            )
        if isinstance(return_type, GraphQLScalarType | GraphQLEnumType):
            fast = LeafFast.NONE
            if return_type is GraphQLString or return_type is GraphQLID:
                fast = LeafFast.STR
            elif return_type is GraphQLBoolean:
                fast = LeafFast.BOOL
            elif return_type is GraphQLInt:
                fast = LeafFast.INT
            return LeafCompletion(return_type, return_type.coerce_output_value, fast)
        if isinstance(return_type, GraphQLObjectType):
            return self.object_completion(return_type, details)
        if isinstance(return_type, GraphQLInterfaceType | GraphQLUnionType):
            objects = {
                possible.name: self.object_completion(possible, details)
                for possible in self.schema.get_possible_types(return_type)
            }
            return AbstractCompletion(return_type, objects)
        raise _Unsupported(f"output type {return_type}")

    def arguments(self, definition: GraphQLField, node: FieldNode) -> dict[str, Any] | None:
        if not definition.args and not node.arguments:
            return {}
        if any(_has_variable(argument.value) for argument in node.arguments or ()):
            return None
        try:
            values = get_argument_values(definition, node, self.variable_values)
        except GraphQLError:
            return None  # raised per request, as a field error, like graphql-core
        if all(_immutable(value) for value in values.values()):
            return values
        return None  # input objects and lists: fresh per request, like graphql-core

    def field_plan(
        self, parent_type: GraphQLObjectType, key: str, details: FieldDetailsList
    ) -> FieldPlan:
        self.size += 1
        node = details[0].node
        name = node.name.value
        if name in ("__schema", "__type"):
            raise _Unsupported("introspection")
        if any(d.fragment_variable_values is not None for d in details):
            raise _Unsupported("fragment arguments")
        definition = self.schema.get_field(parent_type, name)
        if definition is None:
            raise _Unsupported(f"unknown field {parent_type.name}.{name}")
        kind = ResolverKind.CALL
        attribute = ""
        basic_resolve: Any = None
        strawberry_call: StrawberryCall | None = None
        if name == "__typename":
            kind = ResolverKind.TYPENAME
        else:
            attribute_name = _strawberry_attribute(definition)
            if attribute_name is not None:
                kind, attribute, basic_resolve = (
                    ResolverKind.ATTRIBUTE,
                    attribute_name,
                    definition.resolve,
                )
            else:
                strawberry_call = _strawberry_call(definition)
                if strawberry_call is not None:
                    kind, basic_resolve = ResolverKind.STRAWBERRY, definition.resolve
        arguments = self.arguments(definition, node)
        if strawberry_call is not None and strawberry_call.has_arguments and arguments is not None:
            strawberry_call.converted = _converted(strawberry_call, arguments)
        completion = self.completion(definition.type, details)
        inner = completion.inner if isinstance(completion, NonNullCompletion) else completion
        leaf_completion = inner if isinstance(inner, LeafCompletion) else None
        return FieldPlan(
            key=key,
            name=name,
            parent_type=parent_type,
            parent_name=parent_type.name,
            definition=definition,
            return_type=definition.type,
            details=details,
            nodes=[d.node for d in details],
            kind=kind,
            attribute=attribute,
            basic_resolve=basic_resolve,
            strawberry=strawberry_call,
            arguments=arguments,
            completion=completion,
            leaf=leaf_completion is not None,
            non_null=isinstance(completion, NonNullCompletion),
            leaf_completion=leaf_completion,
            needs_info=_needs_info(completion),
        )


def _converted(call: StrawberryCall, arguments: dict[str, Any]) -> dict[str, Any] | None:
    """strawberry's conversion of literal arguments, when it is the same for every request."""
    from strawberry.types.arguments import convert_arguments

    converter = call.converter
    try:
        converted = convert_arguments(
            dict(arguments),
            call.field.arguments,
            scalar_registry=converter.scalar_registry,
            config=converter.config,
            info=None,
        )
    except Exception:
        return None  # raised per request instead, where strawberry raises it
    if all(_immutable(value) for value in converted.values()):
        return converted
    return None


def _needs_info(completion: Completion) -> bool:
    while isinstance(completion, NonNullCompletion | ListCompletion):
        completion = completion.inner
    if isinstance(completion, AbstractCompletion):
        return True
    if isinstance(completion, ObjectCompletion):
        return completion.is_type_of_needs_info
    return False


def _strawberry_attribute(definition: GraphQLField) -> str | None:
    """The attribute a strawberry field without a resolver reads, or ``None``.

    Such a field's ``resolve`` is strawberry's ``_get_basic_result``, which calls
    ``field.get_result(source, info=None, args=[], kwargs={})`` and so
    ``field.default_resolver(source, field.python_name)``; with the default
    ``StrawberryConfig`` that is ``getattr``. Anything else (a wrapped resolver,
    such as a permission check, a field extension, another default resolver)
    is called as it is.
    """
    resolve = definition.resolve
    if resolve is None or getattr(resolve, "__qualname__", None) != _STRAWBERRY_BASIC:
        return None
    code = getattr(resolve, "__code__", None)
    closure = getattr(resolve, "__closure__", None)
    if code is None or closure is None or code.co_freevars != ("field",):
        return None
    strawberry_field = closure[0].cell_contents
    if strawberry_field is not (definition.extensions or {}).get(_STRAWBERRY_BACKREF):
        return None
    if (
        getattr(strawberry_field, "base_resolver", True) is not None
        or getattr(strawberry_field, "extensions", True)
        or getattr(strawberry_field, "default_resolver", None) is not builtins.getattr
    ):
        return None
    python_name = getattr(strawberry_field, "python_name", None)
    return python_name if isinstance(python_name, str) else None


_STRAWBERRY_RESOLVERS = {
    "GraphQLCoreConverter.from_resolver.<locals>._async_resolver": True,
    "GraphQLCoreConverter.from_resolver.<locals>._resolver": False,
}
_STRAWBERRY_EXTENSION_RESOLVER = (
    "GraphQLCoreConverter.from_resolver.<locals>.wrap_field_extensions.<locals>.extension_resolver"
)


def _closure(function: Any) -> dict[str, Any]:
    code = getattr(function, "__code__", None)
    cells = getattr(function, "__closure__", None) or ()
    if code is None or len(code.co_freevars) != len(cells):
        return {}
    try:
        return {
            name: cell.cell_contents for name, cell in zip(code.co_freevars, cells, strict=True)
        }
    except ValueError:  # an empty cell
        return {}


def _strawberry_call(definition: GraphQLField) -> StrawberryCall | None:
    """The inlined form of strawberry's resolver wrapper of this field, or ``None``.

    Only for the exact wrapper strawberry 0.341 builds (checked by name and by
    what its closures hold), with no field extensions and no exception
    handlers; anything else (a permission wrapper, ``strawberry.relay``, field
    extensions) is called as it is.
    """
    from strawberry.types.field import StrawberryField
    from strawberry.types.fields.resolver import StrawberryResolver

    resolve = definition.resolve
    is_async = _STRAWBERRY_RESOLVERS.get(getattr(resolve, "__qualname__", ""))
    if is_async is None:
        return None
    outer = _closure(resolve)
    if outer.get("field_exception_handlers", True) != ():
        return None
    extension_resolver = outer.get("_get_result_with_extensions")
    make_info = outer.get("_strawberry_info_from_graphql")
    if getattr(extension_resolver, "__qualname__", None) != _STRAWBERRY_EXTENSION_RESOLVER:
        return None
    inner = _closure(extension_resolver)
    strawberry_field = inner.get("field")
    if not isinstance(strawberry_field, StrawberryField):
        return None
    converter = inner.get("self")
    if not _plain_strawberry_field(definition, strawberry_field, inner, is_async, make_info):
        return None
    resolver = strawberry_field.base_resolver
    assert isinstance(resolver, StrawberryResolver)
    assert callable(make_info)
    function = resolver.wrapped_func
    assert callable(function)
    arguments = bool(strawberry_field.arguments)
    if arguments and (getattr(converter, "config", None) is None or definition.args is None):
        return None

    def name(parameter: Any) -> str | None:
        return None if parameter is None else str(parameter.name)

    return StrawberryCall(
        make_info=make_info,
        function=function,
        self_parameter=resolver.self_parameter is not None,
        parent_name=name(resolver.parent_parameter),
        root_name=name(resolver.root_parameter),
        info_name=name(resolver.info_parameter),
        has_arguments=arguments,
        is_async=is_async,
        field=strawberry_field,
        converter=converter,
    )


def _plain_strawberry_field(
    definition: GraphQLField,
    strawberry_field: StrawberryField,
    closure: dict[str, Any],
    is_async: bool,
    make_info: Any,
) -> bool:
    """The field is strawberry's own, with no extensions and a plain resolver to call."""
    from strawberry.types.field import StrawberryField
    from strawberry.types.fields.resolver import StrawberryResolver

    backref: object = (definition.extensions or {}).get(_STRAWBERRY_BACKREF)
    if (
        closure.get("extension_functions", True) != []
        or strawberry_field is not backref
        or type(strawberry_field).get_result is not StrawberryField.get_result
        or strawberry_field.extensions
        or strawberry_field.is_async is not is_async
        or not callable(make_info)
    ):
        return False
    resolver = strawberry_field.base_resolver
    return (
        isinstance(resolver, StrawberryResolver)
        and type(resolver).__call__ is StrawberryResolver.__call__
        and callable(resolver.wrapped_func)
    )


def compile_operation(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variable_values: VariableValues,
) -> OperationPlan | None:
    """Compile the query operation of ``document``, or ``None`` when it must fall back.

    Args:
        schema: the GraphQL schema (strawberry's ``schema._schema``).
        document: a parsed and validated document.
        operation_name: the operation to run, as for ``graphql.execute``.
        variable_values: the request's coerced variables; only the values of the
            ``condition_variables`` shape the plan.
    """
    # A schema may declare @defer/@stream (the gateway's does): a document that uses them
    # falls back when its fields are collected, one that does not compiles as usual.
    operation, fragment_definitions = select_operation(document, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY:
        return None
    if any(
        d.name.value == GraphQLDisableErrorPropagationDirective.name
        for d in operation.directives or ()
    ):
        return None
    if any(f.variable_definitions for f in fragment_definitions.values()):
        return None
    if any(
        isinstance(selection, FragmentSpreadNode)
        and selection.name.value not in fragment_definitions
        for selection_set in _selection_sets(operation, fragment_definitions)
        for selection in selection_set.selections
    ):
        return None
    root_type = schema.query_type
    if root_type is None:
        return None
    fragments = {name: FragmentDetails(d, None) for name, d in fragment_definitions.items()}
    compiler = _Compiler(schema, operation, fragments, variable_values)
    try:
        root = compiler.object_completion(root_type, None)
    except (_Unsupported, RecursionError):
        return None
    except Exception:
        # Whatever graphql-core raises while collecting fields (a directive's argument,
        # say) it reports in its own way: nothing has run yet, so let it.
        return None
    return OperationPlan(
        operation=operation,
        root_type=root_type,
        root=root,
        fragment_definitions=fragment_definitions,
        fragments=fragments,
        size=compiler.size,
    )
