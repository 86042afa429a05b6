"""The entry point: ``execute_compiled``, and the bounded cache of plans it keeps."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLResolveInfo,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
)
from graphql.execution.values import VariableValues, get_variable_values
from graphql.pyutils.is_awaitable import is_awaitable as default_is_awaitable
from strawberry.execution import optimized_is_awaitable

# strawberry's resolve info (its executor's ``build_resolve_info``): private, pinned version.
from strawberry.schema.schema import _OperationContextAwareGraphQLResolveInfo

from gateway.execution.plan import (
    OperationPlan,
    compile_operation,
    condition_variables,
    select_operation,
)
from gateway.execution.run import run_plan

__all__ = ["PlanCache", "PlanCacheStats", "execute_compiled"]

#: Plans kept per (document, operation) for distinct values of @skip/@include variables.
_MAX_VARIANTS = 16


@dataclass(slots=True)
class _Entry:
    """What the cache knows of one (document, operation name)."""

    operation: OperationDefinitionNode | None
    conditions: tuple[str, ...]
    sightings: int = 0
    #: A plan, or ``None`` for "not supported", by the values of ``conditions``.
    plans: dict[tuple[Any, ...], OperationPlan | None] = field(default_factory=dict)
    #: The document the entry was made from, kept so an identity key stays unique.
    document: DocumentNode | None = None


@dataclass(slots=True)
class PlanCacheStats:
    """Counters of a ``PlanCache`` (for metrics and the benchmark)."""

    hits: int = 0
    compiled: int = 0
    unsupported: int = 0
    waiting: int = 0
    evicted: int = 0


class PlanCache:
    """Compiled plans by (document, operation name), least recently used out first.

    Args:
        maxsize: the most (document, operation name) entries kept.
        compile_after: compile a document on its n-th sight (1: on the first);
            until then ``execute_compiled`` returns ``None`` and the caller
            runs graphql-core, so one-off documents cost no compilation.

    Documents are keyed by their source text when they carry locations (the
    parser's default), else by identity. A document that cannot be compiled
    is remembered as such and not tried again.

    Example:
        >>> cache = PlanCache(maxsize=256)
        >>> cache.stats.compiled
        0
    """

    def __init__(self, *, maxsize: int = 512, compile_after: int = 1) -> None:
        if maxsize < 1 or compile_after < 1:
            raise ValueError("maxsize and compile_after must be at least 1")
        self.maxsize = maxsize
        self.compile_after = compile_after
        self.stats = PlanCacheStats()
        self._entries: OrderedDict[tuple[Any, ...], _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()

    def entry(self, document: DocumentNode, operation_name: str | None) -> _Entry:
        loc = document.loc
        document_key: Any = loc.source.body if loc is not None else ("id", id(document))
        key = (document_key, operation_name)
        entries = self._entries
        entry = entries.get(key)
        if entry is not None and (loc is not None or entry.document is document):
            entries.move_to_end(key)
            return entry
        operation, fragments = select_operation(document, operation_name)
        conditions = condition_variables(operation, fragments) if operation is not None else ()
        entry = _Entry(operation, conditions, document=None if loc is not None else document)
        entries[key] = entry
        if len(entries) > self.maxsize:
            entries.popitem(last=False)
            self.stats.evicted += 1
        return entry

    def plan(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation_name: str | None,
        entry: _Entry,
        variable_values: VariableValues,
    ) -> OperationPlan | None:
        """The plan for these condition values: cached, compiled now, or ``None``."""
        coerced = variable_values.coerced
        variant = tuple(coerced.get(name) for name in entry.conditions)
        plans = entry.plans
        if variant in plans:
            plan = plans[variant]
            if plan is None:
                self.stats.unsupported += 1
            else:
                self.stats.hits += 1
            return plan
        entry.sightings += 1
        if entry.sightings < self.compile_after:
            self.stats.waiting += 1
            return None
        plan = compile_operation(schema, document, operation_name, variable_values)
        if len(plans) < _MAX_VARIANTS:
            plans[variant] = plan
        if plan is None:
            self.stats.unsupported += 1
        else:
            self.stats.compiled += 1
        return plan


async def execute_compiled(
    schema: GraphQLSchema,
    document: DocumentNode,
    *,
    cache: PlanCache,
    operation_name: str | None = None,
    variable_values: Mapping[str, Any] | None = None,
    context_value: Any = None,
    root_value: Any = None,
    strawberry_info: bool = True,
    operation_extensions: Mapping[str, Any] | None = None,
    is_awaitable: Callable[[Any], Any] | None = None,
) -> ExecutionResult | None:
    """Execute a validated document from a compiled plan, or return ``None``.

    ``None`` means "not supported here": run ``graphql.execute`` instead (the
    caller must, nothing has run). Otherwise the result is the one
    ``graphql.execute(schema, document, root_value, context_value,
    variable_values, operation_name)`` gives, with the same resolvers called
    the same way.

    Args:
        schema: the GraphQL schema (strawberry's ``schema._schema``).
        document: parsed and validated against ``schema``.
        cache: the plans; one per schema, kept for the process.
        operation_name: as for ``graphql.execute``.
        variable_values: the request's raw variables.
        context_value: ``info.context`` of every resolver.
        root_value: the source of the root fields.
        strawberry_info: resolvers get the resolve info strawberry's executor
            builds (``variable_values`` as the plain coerced dict, and
            ``operation_extensions``), as under ``strawberry.Schema.execute``;
            ``False``: graphql-core's ``GraphQLResolveInfo``.
        operation_extensions: the request's ``extensions`` (strawberry's info).
        is_awaitable: the awaitable check; strawberry's by default with
            ``strawberry_info``, else graphql-core's.
    """
    found = _plan(schema, document, cache, operation_name, variable_values)
    if found is None or isinstance(found, ExecutionResult):
        return found
    plan, coerced = found
    info_class: type[Any] = GraphQLResolveInfo
    if strawberry_info:
        info_class = _OperationContextAwareGraphQLResolveInfo
        if is_awaitable is None:
            is_awaitable = optimized_is_awaitable
    result = run_plan(
        schema,
        plan,
        root_value=root_value,
        context_value=context_value,
        variable_values=coerced,
        is_awaitable=is_awaitable or default_is_awaitable,
        info_class=info_class,
        strawberry_info=strawberry_info,
        operation_extensions=operation_extensions,
    )
    if isinstance(result, ExecutionResult):
        return result
    return await result


def _plan(
    schema: GraphQLSchema,
    document: DocumentNode,
    cache: PlanCache,
    operation_name: str | None,
    variable_values: Mapping[str, Any] | None,
) -> tuple[OperationPlan, VariableValues] | ExecutionResult | None:
    """The plan and coerced variables; graphql-core's answer to bad variables; or ``None``."""
    entry = cache.entry(document, operation_name)
    operation = entry.operation
    if operation is None or operation.operation is not OperationType.QUERY:
        return None
    coerced = get_variable_values(
        schema, operation.variable_definitions or (), dict(variable_values or {}), max_errors=50
    )
    if isinstance(coerced, list):
        return ExecutionResult(None, coerced)  # what graphql-core answers for bad variables
    plan = cache.plan(schema, document, operation_name, entry, coerced)
    return None if plan is None else (plan, coerced)
