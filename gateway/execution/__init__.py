"""Compiled execution of known queries: graphql-core's results with less work per field.

A query's plan (``plan.py``) is compiled once per (document, operation name)
against the GraphQL schema strawberry builds, and run (``run.py``) for each
request with the same resolvers, the same awaiting structure (so the same
DataLoader batches) and the same error handling as graphql-core's executor.

Integration (for the request pipeline)
--------------------------------------

Inputs: the GraphQL schema (``strawberry_schema._schema``), a document that
has been **parsed and validated** against it, the operation name, the raw
variables, the context, and one ``PlanCache`` per schema kept for the
process::

    from gateway.execution import PlanCache, execute_compiled

    plans = PlanCache(maxsize=512)          # at start-up, beside the schema
    ...
    result = await execute_compiled(
        schema._schema, document, cache=plans,
        operation_name=name, variable_values=variables, context_value=context,
        operation_extensions=extensions,
    )
    if result is None:                      # not supported: nothing has run
        result = await graphql.execute(...) # or strawberry's path, as today

Guarantees: for a supported document the ``ExecutionResult`` equals what
``graphql.execute`` returns with strawberry's executor class
(``StrawberryGraphQLCoreExecutionContext``, as ``strawberry.Schema.execute``
runs it): the same ``data``, the same ``errors`` (message, locations, path,
original error, so ``extensions``) in the same order, the same null
propagation; the same resolvers are called with the same arguments and an
equivalent resolve info; DataLoaders see the same batches. ``strawberry_info=False``
gives graphql-core's own ``GraphQLResolveInfo`` instead (``graphql.execute``
without strawberry's executor class).

What it does *not* do: everything around execution that strawberry's
extensions do today stays with the caller, before or after this call -
parsing and validation (with the depth, alias and token limits), the
permission layer's refusal of mutations (``refused_root_fields``), the cost
(``operation_cost``) and the rate limit, error masking (``MaskInternalErrors``
works on the result's errors), ``process_errors`` logging, and the stale
flags (they are written to ``context.extensions`` by the loaders, so they are
there either way). Call ``gateway.permissions.guard_fields(schema._schema)``
once at start-up, before the first request: the plans read each field's
resolver when it runs, so a later wrapping is seen too, but doing it first
keeps every path the same.

What falls back (``None``): mutations and subscriptions, introspection
(``__schema``, ``__type``), fragments with variables, ``@defer``/``@stream``,
documents graphql-core would refuse to run (unknown or ambiguous operation
name), and a document's first ``compile_after - 1`` sights. Requests with
invalid variables get graphql-core's errors-only result directly.

Setting: suggested name ``GATEWAY_COMPILED_EXECUTION`` (``compiled_execution:
bool = True``); off, the pipeline never calls ``execute_compiled``.
"""

from gateway.execution.compiled import PlanCache, PlanCacheStats, execute_compiled
from gateway.execution.plan import OperationPlan, compile_operation

__all__ = [
    "OperationPlan",
    "PlanCache",
    "PlanCacheStats",
    "compile_operation",
    "execute_compiled",
]
