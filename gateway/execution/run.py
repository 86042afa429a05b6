"""Run an ``OperationPlan`` for one request, as graphql-core's ``Executor`` would.

The awaiting structure is graphql-core 3.3's, step for step: a field whose
resolver returns an awaitable becomes one coroutine; the awaitable fields of
one object are awaited directly when there is one and gathered with
``gather_with_cancel`` (a task each) when there are several; the same for the
awaitable items of a list. The tasks therefore start in the same event-loop
iterations and in the same order as under graphql-core, so every DataLoader
sees the same keys before it dispatches: the batches are the same. Field
errors are located, propagated through non-null fields and collected
(``CollectedErrors``) at the same points, so data, errors and their order
are the same.

What is saved is graphql-core's bookkeeping per field and per value: the field
lookup, ``collect_subfields``, argument coercion when the arguments are
literals, a resolve info and a path for fields that do not need them
(strawberry's attribute fields, ``__typename``), three calls per attribute
field (strawberry's ``_get_basic_result`` -> ``get_result`` ->
``getattr``), strawberry's resolver wrapper (``StrawberryCall``), the type
dispatch of ``complete_value``, and coroutine layers that only forward an
await (``with_abort_signal``, ``await_maybe``, and ``await_completed``, whose
error handling the object's own coroutine does: the ``guard``). Folding
coroutines that are awaited inline changes no scheduling: only tasks and
real suspensions reach the event loop.

Values graphql-core would complete in ways the plan does not model (an async
iterable for a list) are handed to a graphql-core ``Executor`` built for this
request, which completes them with the same error collection.
"""

from __future__ import annotations

from asyncio import gather
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import suppress
from functools import partial
from inspect import isawaitable
from typing import Any, cast

from graphql import (
    ExecutionResult,
    GraphQLError,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLSchema,
    located_error,
)
from graphql.execution.executor import (
    CollectedErrors,
    Executor,
    default_field_resolver,
    default_type_resolver,
    invalid_return_type_error,
)
from graphql.execution.values import VariableValues, get_argument_values
from graphql.pyutils import Path, Undefined, gather_with_cancel, inspect, is_iterable
from graphql.pyutils.is_awaitable import is_async_iterable
from graphql.pyutils.is_awaitable import is_awaitable as default_is_awaitable
from graphql.type.definition import GraphQLResolveInfoHelpers
from strawberry.schema.schema_converter import get_arguments

from gateway.execution.plan import (
    AbstractCompletion,
    Completion,
    CompletionTag,
    FieldPlan,
    LeafCompletion,
    LeafFast,
    ListCompletion,
    NonNullCompletion,
    ObjectCompletion,
    OperationPlan,
    ResolverKind,
    StrawberryCall,
)

__all__ = ["run_plan"]

_NON_NULL = CompletionTag.NON_NULL
_LIST = CompletionTag.LIST
_LEAF = CompletionTag.LEAF
_OBJECT = CompletionTag.OBJECT
_ATTRIBUTE = ResolverKind.ATTRIBUTE
_TYPENAME = ResolverKind.TYPENAME
_STRAWBERRY = ResolverKind.STRAWBERRY
_STR = LeafFast.STR
_BOOL = LeafFast.BOOL
_INT = LeafFast.INT
_MIN_INT = -2_147_483_648
_MAX_INT = 2_147_483_647

#: Types whose instances are never awaitable (the check then costs one lookup).
_PLAIN: frozenset[type] = frozenset(
    {type(None), bool, int, float, str, bytes, list, tuple, dict, set, frozenset}
)

Info = GraphQLResolveInfo[Any]
Guard = tuple[FieldPlan, GraphQLOutputType, Path]
"""The field (plan, return or item type, path) whose errors an awaitable handles itself."""
"""A resolve info: graphql-core's ``GraphQLResolveInfo`` or strawberry's variant of it."""


class _Execution:
    """The state of one request's execution of a plan."""

    __slots__ = (
        "_delegate",
        "_info_tail",
        "context_value",
        "errors",
        "info_class",
        "is_awaitable",
        "operation_extensions",
        "plan",
        "root_value",
        "schema",
        "strawberry_info",
        "variable_values",
    )

    def __init__(
        self,
        schema: GraphQLSchema,
        plan: OperationPlan,
        *,
        root_value: Any,
        context_value: Any,
        variable_values: VariableValues,
        is_awaitable: Callable[[Any], Any],
        info_class: type[Any],
        strawberry_info: bool,
        operation_extensions: Any,
    ) -> None:
        self.schema = schema
        self.plan = plan
        self.root_value = root_value
        self.context_value = context_value
        self.variable_values = variable_values
        self.is_awaitable = is_awaitable
        self.info_class = info_class
        self.strawberry_info = strawberry_info
        self.operation_extensions = operation_extensions
        self.errors = CollectedErrors()
        self._delegate: Executor[Any] | None = None
        # Not a bound method: the infos hold the helpers, and the execution holding
        # them back would make every request's execution a cycle, freed only by the
        # collector (and with it the context, the loaders and their records).
        helpers = GraphQLResolveInfoHelpers(
            gather=_gather_async_work, track=partial(_track, is_awaitable)
        )
        tail: tuple[Any, ...] = (
            schema,
            plan.fragment_definitions,
            root_value,
            plan.operation,
            variable_values.coerced if strawberry_info else variable_values,
            context_value,
            is_awaitable,
            None,  # abort signal
            helpers,
        )
        if strawberry_info:
            tail = (*tail, operation_extensions)
        self._info_tail = tail

    # --- infos, errors, background work ---------------------------------------------

    def info(self, f: FieldPlan, path: Path) -> Info:
        return cast(
            Info,
            tuple.__new__(
                self.info_class,
                (f.name, f.nodes, f.return_type, f.parent_type, path, *self._info_tail),
            ),
        )

    def handle_field_error(
        self, raw_error: Exception, return_type: GraphQLOutputType, f: FieldPlan, path: Path
    ) -> None:
        error = located_error(raw_error, f.nodes, path.as_list())
        if return_type.__class__ is GraphQLNonNull:
            raise error
        self.errors.add(error, path)

    def delegate(self) -> Executor[Any]:
        """A graphql-core executor of this request, sharing its error collection."""
        if self._delegate is None:
            kwargs: dict[str, Any] = {}
            executor_class: type[Executor[Any]] = Executor
            if self.strawberry_info:
                from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

                executor_class = StrawberryGraphQLCoreExecutionContext
                kwargs["operation_extensions"] = self.operation_extensions
            plan = self.plan
            executor = executor_class(
                self.schema,
                plan.fragment_definitions,
                plan.fragments,
                self.root_value,
                self.context_value,
                plan.operation,
                self.variable_values,
                default_field_resolver,
                default_type_resolver,
                default_field_resolver,
                is_awaitable=cast(Any, self.is_awaitable),
                **kwargs,
            )
            executor.collected_errors = self.errors
            self._delegate = executor
        return self._delegate

    # --- selection sets --------------------------------------------------------------

    def execute_fields(
        self, obj: ObjectCompletion, source: Any, path: Path | None, guard: Guard | None = None
    ) -> dict[str, Any] | Awaitable[dict[str, Any] | None]:
        """graphql-core's ``execute_fields``: the fields of one object, concurrently.

        ``guard``: the field (or list item) whose value this object is; the returned
        awaitable handles its own errors as that field's, as graphql-core's
        ``await_completed`` wrapper around it would (one coroutine instead of two).
        """
        results: dict[str, Any] = {}
        awaitable_keys: list[str] = []
        is_awaitable = self.is_awaitable
        try:
            for f in obj.fields:
                key = f.key
                kind = f.kind
                if kind is _ATTRIBUTE and f.definition.resolve is f.basic_resolve:
                    try:
                        value = getattr(source, f.attribute)
                    except Exception as raw_error:
                        self.handle_field_error(
                            raw_error, f.return_type, f, Path(path, key, f.parent_name)
                        )
                        results[key] = None
                        continue
                    leaf = f.leaf_completion
                    if leaf is not None:
                        fast = leaf.fast
                        value_type = value.__class__
                        if (
                            (fast is _STR and value_type is str)
                            or (
                                fast is _INT and value_type is int and _MIN_INT <= value <= _MAX_INT
                            )
                            or (fast is _BOOL and value_type is bool)
                        ):
                            results[key] = value
                            continue
                    result = self.complete_field(f, source, path, value, None)
                elif kind is _TYPENAME:
                    results[key] = f.parent_name
                    continue
                elif kind is _STRAWBERRY and f.definition.resolve is f.basic_resolve:
                    result = self.call_strawberry(f, source, path)
                else:
                    result = self.call_field(f, source, path)
                results[key] = result
                if result.__class__ not in _PLAIN and is_awaitable(result):
                    awaitable_keys.append(key)
        except Exception:
            if awaitable_keys:
                # Settle the other fields' awaitables: they may fail too.
                _settle_in_background([results[key] for key in awaitable_keys])
            raise

        if not awaitable_keys:
            return results
        return self._awaited_fields(results, awaitable_keys, guard)

    async def _awaited_fields(
        self, results: dict[str, Any], awaitable_keys: list[str], guard: Guard | None
    ) -> dict[str, Any] | None:
        """The object's fields once its awaitable ones are in (see ``execute_fields``)."""
        try:
            if len(awaitable_keys) == 1:
                key = awaitable_keys[0]
                results[key] = await results[key]
            else:
                awaited = await gather_with_cancel(*(results[key] for key in awaitable_keys))
                results.update(zip(awaitable_keys, awaited, strict=True))
        except Exception as raw_error:
            if guard is None:
                raise
            self.handle_field_error(raw_error, guard[1], guard[0], guard[2])
            return None
        return results

    # --- fields ------------------------------------------------------------------------

    def call_field(self, f: FieldPlan, source: Any, parent_path: Path | None) -> Any:
        """A field with a resolver: graphql-core's ``execute_field``."""
        path = Path(parent_path, f.key, f.parent_name)
        definition = f.definition
        resolve = definition.resolve or default_field_resolver
        info = self.info(f, path)
        try:
            arguments = f.arguments
            if arguments is None:
                arguments = get_argument_values(definition, f.details[0].node, self.variable_values)
            result = resolve(source, info, **arguments)
            if result.__class__ not in _PLAIN and self.is_awaitable(result):
                return self.complete_awaitable_value(f, f.completion, info, path, result)
            completed = self.complete_value(
                f, f.completion, info, path, result, (f, f.return_type, path)
            )
        except Exception as raw_error:
            self.handle_field_error(raw_error, f.return_type, f, path)
            return None
        return completed

    def call_strawberry(self, f: FieldPlan, source: Any, parent_path: Path | None) -> Any:
        """``call_field`` for a strawberry resolver, its wrapper inlined (``StrawberryCall``)."""
        path = Path(parent_path, f.key, f.parent_name)
        call = f.strawberry
        assert call is not None
        info = self.info(f, path)
        try:
            arguments = f.arguments
            if arguments is None:
                arguments = get_argument_values(
                    f.definition, f.details[0].node, self.variable_values
                )
            if call.is_async:
                # strawberry's ``_async_resolver`` does its work when first awaited: so here.
                return self.strawberry_value(f, call, source, info, path, arguments)
            result = _strawberry_result(call, source, info, arguments)
            if result.__class__ not in _PLAIN and self.is_awaitable(result):
                return self.complete_awaitable_value(f, f.completion, info, path, result)
            completed = self.complete_value(
                f, f.completion, info, path, result, (f, f.return_type, path)
            )
        except Exception as raw_error:
            self.handle_field_error(raw_error, f.return_type, f, path)
            return None
        return completed

    async def strawberry_value(
        self,
        f: FieldPlan,
        call: StrawberryCall,
        source: Any,
        info: Info,
        path: Path,
        arguments: dict[str, Any],
    ) -> Any:
        """``complete_awaitable_value`` of an async strawberry field, wrapper inlined."""
        try:
            resolved = _strawberry_result(call, source, info, arguments)
            if isawaitable(resolved):  # strawberry's ``await_maybe``
                resolved = await resolved
            completed = self.complete_value(f, f.completion, info, path, resolved)
            if completed.__class__ not in _PLAIN and self.is_awaitable(completed):
                completed = await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, f.return_type, f, path)
            completed = None
        return completed

    def complete_field(
        self, f: FieldPlan, source: Any, parent_path: Path | None, result: Any, _: None
    ) -> Any:
        """The rest of ``execute_field`` for a value read without a resolver call."""
        path: Path | None = None
        info: Info | None = None
        try:
            if result.__class__ not in _PLAIN and self.is_awaitable(result):
                path = Path(parent_path, f.key, f.parent_name)
                info = self.info(f, path)
                return self.complete_awaitable_value(f, f.completion, info, path, result)
            if f.leaf:
                return self.complete_leaf_field(f, result)
            path = Path(parent_path, f.key, f.parent_name)
            if f.needs_info:
                info = self.info(f, path)
            completed = self.complete_value(
                f, f.completion, info, path, result, (f, f.return_type, path)
            )
        except Exception as raw_error:
            if path is None:
                path = Path(parent_path, f.key, f.parent_name)
            self.handle_field_error(raw_error, f.return_type, f, path)
            return None
        return completed

    def complete_leaf_field(self, f: FieldPlan, result: Any) -> Any:
        """``complete_value`` of a (maybe non-null) scalar or enum field."""
        if isinstance(result, Exception):
            raise result
        if result is None or result is Undefined:
            if f.non_null:
                raise TypeError(
                    f"Cannot return null for non-nullable field {f.parent_name}.{f.name}."
                )
            return None
        leaf = f.leaf_completion
        assert leaf is not None
        return _complete_leaf(leaf, result)

    async def await_completed(
        self, f: FieldPlan, return_type: GraphQLOutputType, path: Path, completed: Any
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, f, path)
            return None

    async def complete_awaitable_value(
        self,
        f: FieldPlan,
        completion: Completion,
        info: Info | None,
        path: Path,
        result: Any,
    ) -> Any:
        try:
            resolved = await result
            completed = self.complete_value(f, completion, info, path, resolved)
            if completed.__class__ not in _PLAIN and self.is_awaitable(completed):
                completed = await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, f.return_type, f, path)
            completed = None
        return completed

    # --- values ------------------------------------------------------------------------

    def complete_value(
        self,
        f: FieldPlan,
        completion: Completion,
        info: Info | None,
        path: Path,
        result: Any,
        guard: Guard | None = None,
    ) -> Any:
        """graphql-core's ``complete_value`` for the plan's completion of the type.

        With a ``guard``, an awaitable returned handles its errors as the guard's
        field (graphql-core wraps it in ``await_completed``); without, it raises them.
        """
        if isinstance(result, Exception):
            raise result
        tag = completion.tag
        if tag is _NON_NULL:
            # The inner completion returns None exactly when the value is None or
            # Undefined (leaves raise instead of returning None): check that first.
            if result is None or result is Undefined:
                raise TypeError(
                    f"Cannot return null for non-nullable field {f.parent_name}.{f.name}."
                )
            completion = cast(NonNullCompletion, completion).inner
            tag = completion.tag
        elif result is None or result is Undefined:
            return None
        if tag is _LEAF:
            return _complete_leaf(cast(LeafCompletion, completion), result)
        if tag is _OBJECT:
            return self.complete_object_value(
                f, cast(ObjectCompletion, completion), info, path, result, guard
            )
        if tag is _LIST:
            completed = self.complete_list_value(
                f, cast(ListCompletion, completion), info, path, result
            )
        else:
            completed = self.complete_abstract_value(
                f, cast(AbstractCompletion, completion), info, path, result
            )
        if guard is not None and completed.__class__ not in _PLAIN and self.is_awaitable(completed):
            return self.await_completed(guard[0], guard[1], guard[2], completed)
        return completed

    def complete_list_value(
        self,
        f: FieldPlan,
        completion: ListCompletion,
        info: Info | None,
        path: Path,
        result: Any,
    ) -> Any:
        if result.__class__ is not list:
            if is_async_iterable(result):
                # Not modelled by the plan: graphql-core completes it, with our errors.
                if info is None:
                    info = self.info(f, path)
                return self.delegate().complete_list_value(
                    completion.list_type, f.details, info, path, result, None
                )
            if not is_iterable(result):
                raise GraphQLError(
                    f"Expected Iterable, but did not find one for field '{f.parent_name}.{f.name}'."
                )
        return self.complete_iterable_value(f, completion, info, path, result)

    def complete_iterable_value(
        self,
        f: FieldPlan,
        completion: ListCompletion,
        info: Info | None,
        path: Path,
        items: Iterable[Any],
    ) -> Any:
        is_awaitable = self.is_awaitable
        item_type = completion.item_type
        inner = completion.inner
        completed_results: list[Any] = []
        append = completed_results.append
        awaitable_indices: list[int] = []
        leaf = completion.leaf_items
        fast = leaf.fast if leaf is not None else None
        iterator = iter(items)
        index = 0
        try:
            for item in iterator:
                item_class = item.__class__
                if leaf is not None and (
                    (fast is _STR and item_class is str)
                    or (fast is _INT and item_class is int and _MIN_INT <= item <= _MAX_INT)
                    or (fast is _BOOL and item_class is bool)
                ):
                    append(item)
                    index += 1
                    continue
                item_path = Path(path, index, None)
                if item_class not in _PLAIN and is_awaitable(item):
                    append(
                        self.complete_awaitable_list_item(
                            f, inner, item_type, info, item_path, item
                        )
                    )
                    awaitable_indices.append(index)
                elif self.complete_list_item_value(
                    f, inner, item_type, info, item_path, item, completed_results
                ):
                    awaitable_indices.append(index)
                index += 1
        except Exception:
            pending = [completed_results[i] for i in awaitable_indices]
            with suppress(Exception):  # graphql-core drains the iterator the same way
                pending.extend(item for item in iterator if is_awaitable(item))
            if pending:
                _settle_in_background(pending)
            raise

        if not awaitable_indices:
            return completed_results
        return _awaited_items(completed_results, awaitable_indices)

    def complete_list_item_value(
        self,
        f: FieldPlan,
        completion: Completion,
        item_type: GraphQLOutputType,
        info: Info | None,
        item_path: Path,
        item: Any,
        completed_results: list[Any],
    ) -> bool:
        try:
            completed = self.complete_value(
                f, completion, info, item_path, item, (f, item_type, item_path)
            )
            completed_results.append(completed)
            if completed.__class__ not in _PLAIN and self.is_awaitable(completed):
                return True
        except Exception as raw_error:
            self.handle_field_error(raw_error, item_type, f, item_path)
            completed_results.append(None)
        return False

    async def complete_awaitable_list_item(
        self,
        f: FieldPlan,
        completion: Completion,
        item_type: GraphQLOutputType,
        info: Info | None,
        item_path: Path,
        item: Any,
    ) -> Any:
        try:
            resolved = await item
            completed = self.complete_value(f, completion, info, item_path, resolved)
            if completed.__class__ not in _PLAIN and self.is_awaitable(completed):
                completed = await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, item_type, f, item_path)
            return None
        return completed

    def complete_object_value(
        self,
        f: FieldPlan,
        completion: ObjectCompletion,
        info: Info | None,
        path: Path,
        result: Any,
        guard: Guard | None = None,
    ) -> Any:
        is_type_of = completion.is_type_of
        if is_type_of is not None:
            checked = is_type_of(result, info)
            if checked.__class__ is not bool and self.is_awaitable(checked):

                async def execute_subfields_async() -> Any:
                    if not await checked:
                        raise invalid_return_type_error(completion.type, result, f.details)
                    sub_fields = self.execute_fields(completion, result, path)
                    if self.is_awaitable(sub_fields):
                        return await cast(Awaitable[Any], sub_fields)
                    return sub_fields

                if guard is not None:
                    return self.await_completed(*guard, execute_subfields_async())
                return execute_subfields_async()
            if not checked:
                raise invalid_return_type_error(completion.type, result, f.details)
        return self.execute_fields(completion, result, path, guard)

    def complete_abstract_value(
        self,
        f: FieldPlan,
        completion: AbstractCompletion,
        info: Info | None,
        path: Path,
        result: Any,
    ) -> Any:
        abstract_type = completion.type
        assert info is not None  # abstract completions always get one (plan.needs_info)
        resolve_type_fn = abstract_type.resolve_type or default_type_resolver
        runtime_type = resolve_type_fn(result, info, abstract_type)

        if self.is_awaitable(runtime_type):

            async def await_complete_object_value() -> Any:
                name = await cast(Awaitable[Any], runtime_type)
                value = self.complete_object_value(
                    f,
                    self.runtime_object(completion, name, f, info, result),
                    info,
                    path,
                    result,
                )
                if self.is_awaitable(value):
                    return await value
                return value  # pragma: no cover

            return await_complete_object_value()

        return self.complete_object_value(
            f,
            self.runtime_object(completion, runtime_type, f, info, result),
            info,
            path,
            result,
        )

    def runtime_object(
        self,
        completion: AbstractCompletion,
        runtime_type_name: Any,
        f: FieldPlan,
        info: Info,
        result: Any,
    ) -> ObjectCompletion:
        # graphql-core's checks and messages, with its own method (it reads only ``schema``).
        runtime_type: GraphQLObjectType = Executor.ensure_valid_runtime_type(
            cast(Any, self), runtime_type_name, completion.type, f.details, info, result
        )
        return completion.objects[runtime_type.name]


def _strawberry_result(
    call: StrawberryCall, source: Any, info: Info, arguments: dict[str, Any]
) -> Any:
    """What strawberry's wrapper returns: ``get_arguments``, then the resolver function."""
    strawberry_info = call.make_info(info)
    converted = call.converted
    if converted is not None:
        kwargs = dict(converted)
    elif call.has_arguments:
        converter = call.converter
        args, kwargs = get_arguments(
            field=call.field,
            source=source,
            info=strawberry_info,
            kwargs=arguments,
            config=converter.config,
            scalar_registry=converter.scalar_registry,
        )
        return call.function(*args, **kwargs)
    else:
        kwargs = {}
    if call.parent_name is not None:
        kwargs[call.parent_name] = source
    if call.root_name is not None:
        kwargs[call.root_name] = source
    if call.info_name is not None:
        kwargs[call.info_name] = strawberry_info
    if call.self_parameter:
        return call.function(source, **kwargs)
    return call.function(**kwargs)


def _complete_leaf(completion: LeafCompletion, result: Any) -> Any:
    """graphql-core's ``complete_leaf_value``."""
    fast = completion.fast
    if fast is _STR:
        if result.__class__ is str:
            return result
    elif fast is _INT:
        if result.__class__ is int and _MIN_INT <= result <= _MAX_INT:
            return result
    elif fast is _BOOL and result.__class__ is bool:
        return result
    coerced = completion.coerce(result)
    if coerced is Undefined or coerced is None:
        raise TypeError(
            f"Expected `{inspect(completion.type)}.coerce_output_value("
            f"{inspect(result)})` to return non-nullable value, returned:"
            f" {inspect(coerced)}"
        )
    return coerced


def _gather_async_work(values: Any) -> Awaitable[list[Any]]:
    return gather_with_cancel(*values)


#: Futures settled in the background, kept referenced until they are done.
_BACKGROUND: set[Any] = set()


def _settle_in_background(awaitables: list[Any]) -> None:
    """graphql-core's ``settle_in_background``: let pending siblings finish, errors seen."""
    future = gather(*awaitables, return_exceptions=True)
    _BACKGROUND.add(future)
    future.add_done_callback(_BACKGROUND.discard)


def run_plan(
    schema: GraphQLSchema,
    plan: OperationPlan,
    *,
    root_value: Any,
    context_value: Any,
    variable_values: VariableValues,
    is_awaitable: Callable[[Any], Any] | None = None,
    info_class: type[Any] = GraphQLResolveInfo,
    strawberry_info: bool = False,
    operation_extensions: Mapping[str, Any] | None = None,
) -> ExecutionResult | Awaitable[ExecutionResult]:
    """Execute ``plan``: an ``ExecutionResult``, or an awaitable of one.

    ``graphql-core``'s ``execute_operation`` for a query: the root fields run
    concurrently and a non-null error reaching the root nulls ``data``.
    """
    execution = _Execution(
        schema,
        plan,
        root_value=root_value,
        context_value=context_value,
        variable_values=variable_values,
        is_awaitable=is_awaitable or default_is_awaitable,
        info_class=info_class,
        strawberry_info=strawberry_info,
        operation_extensions=operation_extensions,
    )
    errors = execution.errors
    try:
        data = execution.execute_fields(plan.root, root_value, None)
    except GraphQLError as error:
        errors.add(error, None)
        return ExecutionResult(None, errors.errors or None)

    if execution.is_awaitable(data):

        async def await_result() -> ExecutionResult:
            try:
                awaited = await cast(Awaitable[dict[str, Any]], data)
            except GraphQLError as error:
                errors.add(error, None)
                return ExecutionResult(None, errors.errors or None)
            return ExecutionResult(awaited, errors.errors or None)

        return await_result()
    return ExecutionResult(cast(dict[str, Any], data), errors.errors or None)


def _track(is_awaitable: Callable[[Any], Any], values: Any) -> None:
    """graphql-core's ``track`` helper: settle the awaitables among ``values`` in the background."""
    awaitables = [value for value in values if is_awaitable(value)]
    if awaitables:
        _settle_in_background(awaitables)


async def _awaited_items(items: list[Any], awaitable_indices: list[int]) -> list[Any]:
    """A list's items once its awaitable ones are in (``complete_iterable_value``)."""
    if len(awaitable_indices) == 1:
        index = awaitable_indices[0]
        items[index] = await items[index]
    else:
        awaited = await gather_with_cancel(*(items[index] for index in awaitable_indices))
        for index, value in zip(awaitable_indices, awaited, strict=True):
            items[index] = value
    return items
