"""Running GraphQL: documents parsed and validated once, operations prepared and executed.

``documents.py`` parses and validates each distinct document once;
``prepare.py`` holds the steps that turn parameters into a runnable
operation (open the context, parse, validate, pick the operation, coerce its
variables); ``operation.py`` the prepared operation; ``execute.py`` runs it
(one result, an incremental stream, or a subscription) and ``masking.py``
hides unexpected errors; ``incremental.py`` shapes ``@defer``/``@stream``
payloads. ``plan.py``, ``run.py`` and ``compiled.py`` are the compiled path
described below.

May import: ``gateway.pipeline``, ``gateway.errors``, ``gateway.context``,
``limits`` (document shape) and graphql-core; never ``http``.

Compiled execution of known queries: graphql-core's results with less work per field
-------------------------------------------------------------------------------------

A query's plan (``plan.py``) is compiled once per (document, operation name)
against the GraphQL schema strawberry builds, and run (``run.py``) for each
request with the same resolvers, the same awaiting structure (so the same
DataLoader batches and the same error order) and the same error handling as
graphql-core's executor. ``bench/execution.py`` measures it; ``bench/NOTES.md``
has the figures (about 0.56-0.58x graphql-core's CPU on the benchmark's
fan-out and nested queries, data in memory).

Integration (for the request pipeline)
--------------------------------------

Inputs: the GraphQL schema (``strawberry_schema._schema``), a document that
has been **parsed and validated** against it (with the gateway's extra rules:
depth, aliases, introspection switch), the operation name, the raw
variables, the context, the request's ``extensions``, and one ``PlanCache``
per schema, kept for the process (one event loop; it is not thread-safe)::

    from gateway.execution import PlanCache, execute_compiled

    plans = PlanCache(maxsize=512)          # at start-up, beside the schema
    guard_fields(schema._schema)            # gateway.permissions, once, before any plan
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
runs it): the same ``data``; the same ``errors`` (message, locations, path,
original error, so ``extensions``), in the same order; the same null
propagation. The same resolvers are called with the same arguments and an
equal resolve info (strawberry's: ``variable_values`` as the coerced dict,
``operation_extensions``); DataLoaders see the same batches; stale flags land
in ``context.extensions`` as before (the loaders write them). With
``strawberry_info=False`` resolvers get graphql-core's own
``GraphQLResolveInfo`` instead (plain ``graphql.execute``). Requests with
invalid variables get graphql-core's errors-only result without running.
``tests/execution`` checks all of this against graphql-core, document by
document, on the real schema with real backends.

Shortcuts, each exact and checked per call: strawberry fields without a
resolver are read with ``getattr`` (no info, no coroutine); strawberry's
resolver wrapper is inlined for fields without field extensions or exception
handlers (``plan.StrawberryCall``); literal arguments are coerced (and
converted by strawberry) once per plan when their values are immutable;
``String``/``ID``/``Int``/``Boolean`` values of the right Python type are
passed through. A field whose resolver is replaced after compiling (the
permission layer's ``guard_fields``) is called through its new resolver.
These lean on strawberry 0.341's internals (checked by name and closure
contents; ``tests/execution/test_differential.py::test_the_plans_take_the_shortcuts``
says when an upgrade turns them off, which costs speed, not correctness).

What stays with the caller, before or after this call (strawberry's
extensions do it today): parsing and validation with their caches, the
permission layer's refusal of mutations (``refused_root_fields``), the cost
(``operation_cost``, which also sets ``context.cost``) and the rate limit,
error masking (``MaskInternalErrors`` rewrites the result's errors),
``process_errors`` logging, ``extensions.cost`` in the response. There is
no middleware: the gateway's extensions implement no ``resolve`` hook.

What falls back (``None``): mutations and subscriptions, introspection
(``__schema``, ``__type``), fragments with variables, ``@defer``/``@stream``,
``@experimental_disable_error_propagation``, documents graphql-core would
refuse to run (unknown or ambiguous operation name, unknown fragment), a
document's first ``compile_after - 1`` sights, and more than 16 distinct
``@skip``/``@include`` variable combinations of one document.

Setting: suggested name ``GATEWAY_COMPILED_EXECUTION`` (``compiled_execution:
bool = True`` in ``Settings``); off, the pipeline never calls
``execute_compiled``. ``PlanCache.stats`` counts hits, compilations and
fallbacks, for a metric if wanted.
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
