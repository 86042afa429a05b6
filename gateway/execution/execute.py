"""The end of the chain: run the prepared operation and say how it went.

A query graphql-core would run the plain way goes through its compiled plan
when there is one (``compiled.execute_compiled``: the same resolvers, the
same batches and errors, less work per field); anything the compiler does
not cover, and every mutation, runs on graphql-core's executor. One result
for a query or mutation (masked: see ``masking``); for ``@defer``/``@stream``
a stream of payloads when the client reads one (``Resolve`` gave the others
an executor that ignores the directives). The outcome
(ok, partial, error) and the error codes go to the access log and metrics
through the reply's ``OperationOutcome``.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterable
from typing import Any

from graphql import ExecutionResult, GraphQLError
from graphql.execution import ExperimentalIncrementalExecutionResults

from gateway.execution.compiled import PlanCache, execute_compiled
from gateway.execution.incremental import Payloads, merged
from gateway.execution.masking import masked
from gateway.pipeline import Exchange, OperationOutcome, Outcome, Reply


class Execute:
    """Terminal handler: executes ``exchange.operation``.

    Args:
        plans: the compiled plans of this process's schema; ``None`` runs
            every operation on graphql-core (``GATEWAY_COMPILED_EXECUTION=false``).
    """

    def __init__(self, plans: PlanCache | None = None) -> None:
        self.plans = plans

    async def __call__(self, exchange: Exchange) -> Reply:
        operation = exchange.require_operation()
        context = exchange.require_context()
        request_id = context.request_id
        produced: Any = None
        if self.plans is not None and not operation.incremental:
            params = exchange.require_params()
            assert exchange.document is not None
            produced = await execute_compiled(
                operation.executor.schema,
                exchange.document,
                cache=self.plans,
                operation_name=params.operation_name,
                variable_values=params.variables,
                context_value=context,
                # graphql-core's own resolve info, as the fallback executor gives.
                strawberry_info=False,
            )
        if produced is None:
            produced = operation.executor.execute_operation()
            if inspect.isawaitable(produced):
                produced = await produced
        if isinstance(produced, ExperimentalIncrementalExecutionResults):
            payloads = Payloads(produced, request_id, spec=exchange.incremental_spec)
            if exchange.accepts_stream and not exchange.in_batch:
                first = payloads.initial()
                reply = Reply(
                    outcome=outcome_of(exchange, first.get("data"), payloads.errors),
                    extensions=context.extensions,
                )
                reply.stream = _stream(exchange, reply, first, payloads)
                return reply
            # Prepared to stream, then asked for one response (an Idempotency-Key).
            data, errors = await merged(payloads)
            produced = ExecutionResult(data, errors or None)
        _release(operation.executor)  # one result: the executor's work is done
        result: ExecutionResult = produced
        if result.errors:
            result.errors = masked(result.errors, request_id)
        # The context's extensions (answers served stale) are the response's.
        return Reply(
            outcome=outcome_of(exchange, result.data, result.errors or ()),
            result=result,
            extensions=context.extensions,
        )


def _release(executor: object) -> None:
    """Cut graphql-core's executor from its async helpers once its operation is done.

    The executor and its ``async_helpers`` (whose methods are the executor's, bound)
    refer to each other: a cycle that held the request's whole context (its
    loaders, their futures and records: ~280 objects per fan-out) until the cyclic
    collector came by (the collector was 22 % of a worker's CPU at c=32). Without
    it reference counting frees the request at once. Resolve infos made during
    execution hold the helpers themselves.
    """
    vars(executor).pop("async_helpers", None)


async def _stream(
    exchange: Exchange, reply: Reply, first: dict[str, Any], payloads: Payloads
) -> AsyncIterator[dict[str, Any]]:
    try:
        yield first
        async for payload in payloads.subsequent():
            yield payload
    finally:
        # The outcome counts the errors of every payload, not only the first one's.
        reply.outcome = outcome_of(exchange, first.get("data"), payloads.errors)


def outcome_of(exchange: Exchange, data: Any, errors: Iterable[GraphQLError]) -> OperationOutcome:
    """How an executed operation ended, and the codes of its errors."""
    codes = tuple(str((error.extensions or {}).get("code") or "INTERNAL") for error in errors)
    if not codes:
        outcome = Outcome.OK
    elif data is not None:
        outcome = Outcome.PARTIAL
    else:
        outcome = Outcome.ERROR
    operation = exchange.operation
    return OperationOutcome(
        outcome,
        operation=operation.name if operation else None,
        kind=operation.kind.value if operation else None,
        codes=codes,
        client_id=exchange.client_id,
    )


__all__ = ["Execute", "outcome_of"]
