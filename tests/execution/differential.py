"""Run one document through graphql-core and through the compiled executor, and compare.

``Differential.compare`` executes the document twice against the same real
backends, each time with a fresh request context (so fresh DataLoaders):

1. graphql-core's ``execute`` with strawberry's executor class, exactly as
   ``strawberry.Schema.execute`` runs it;
2. ``execute_compiled`` with a plan cache of its own.

It returns both runs' observations: the response as bytes (orjson of
``{data, errors}`` with the errors formatted: message, locations, path,
extensions), the number of SQL statements, the calls each simulator
answered, and the DataLoader batches dispatched (from the batch-size metric).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    ExecutionResult,
    ExperimentalIncrementalExecutionResults,
    GraphQLSchema,
    experimental_execute_incrementally,
    parse,
    validate,
)
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from gateway.backends import Backends
from gateway.context import Context
from gateway.execution import PlanCache, execute_compiled
from gateway.observability.metrics import LOADER_BATCH_SIZE
from gateway.security.clients import ALL_SCOPES, Identity
from gateway.settings import Settings
from simulators.runner import Simulators


@dataclass(frozen=True)
class Observation:
    """What one execution produced and cost."""

    response: bytes
    statements: int
    bolt_on_calls: dict[str, int]
    loader_batches: dict[str, int]
    #: The compiled executor declined (``None``) and graphql-core ran, as a caller would.
    fell_back: bool = False


def formatted(result: ExecutionResult) -> bytes:
    errors = [error.formatted for error in result.errors] if result.errors else None
    return orjson.dumps({"data": result.data, "errors": errors})


async def streamed(results: ExperimentalIncrementalExecutionResults) -> bytes:
    """An incremental delivery (@defer/@stream) in a canonical form.

    Deferred fragments finish in whichever order their backends answer, and the
    ids of the pending fragments are given in that order too: each entry is
    named by its fragment's path (and label) instead of its id, and every list
    of entries is sorted. The initial payload's data and errors stay as they are.
    """

    def canonical(entry: Any) -> str:
        return orjson.dumps(entry, option=orjson.OPT_SORT_KEYS).decode()

    initial = results.initial_result.formatted
    paths: dict[str, Any] = {}
    later: dict[str, list[Any]] = {"pending": [], "incremental": [], "completed": []}
    payloads = [initial]
    async for subsequent in results.subsequent_results:
        payloads.append(subsequent.formatted)
    for payload in payloads:
        for entry in payload.get("pending") or ():
            paths[entry["id"]] = [entry["path"], entry.get("label")]
            later["pending"].append(paths[entry["id"]])
    for payload in payloads[1:]:
        for part in ("incremental", "completed"):
            for entry in payload.get(part) or ():
                named = {key: value for key, value in entry.items() if key != "id"}
                named["fragment"] = paths.get(entry.get("id"))
                later[part].append(named)
    first = {key: value for key, value in initial.items() if key != "pending"}
    ordered = {part: sorted(canonical(e) for e in entries) for part, entries in later.items()}
    return orjson.dumps([first, ordered])


def _loader_batches() -> dict[str, int]:
    counts: dict[str, int] = {}
    for metric in LOADER_BATCH_SIZE.collect():
        for sample in metric.samples:
            if sample.name.endswith("_count"):
                counts[sample.labels["loader"]] = int(sample.value)
    return counts


async def _settle(tasks_before: set[asyncio.Task[Any]]) -> None:
    """Wait until the tasks started since ``tasks_before`` (and those they start) are done."""
    current = asyncio.current_task()
    quiet = 0
    while quiet < 3:
        await asyncio.sleep(0)  # let scheduled callbacks (a loader's dispatch) create their tasks
        left = {
            task
            for task in asyncio.all_tasks() - tasks_before
            if task is not current and not task.done()
        }
        if left:
            quiet = 0
            await asyncio.wait(left, timeout=10)
        else:
            quiet += 1


def propagated(response: bytes) -> bool:
    """Whether an error of the response nulled more than its own field."""
    body = orjson.loads(response)
    if isinstance(body, list):  # an incremental delivery: its initial payload
        body = body[0]
    for error in body.get("errors") or ():
        path = error.get("path")
        if path is None:
            continue
        value: Any = body.get("data")
        for key in path:
            if value is None:
                return True
            value = value[key]
    return False


class Differential:
    """Both executors over one schema and one set of backends (see the module docstring)."""

    def __init__(
        self, schema: GraphQLSchema, settings: Settings, backends: Backends, sims: Simulators
    ) -> None:
        self.schema = schema
        self.settings = settings
        self.backends = backends
        self.sims = sims
        self.plans = PlanCache()

    def document(self, query: str) -> DocumentNode:
        document = parse(query)
        errors = validate(self.schema, document)
        assert not errors, f"invalid document: {errors}\n{query}"
        return document

    def context(self, scopes: frozenset[str]) -> Context:
        return Context(
            settings=self.settings,
            backends=self.backends,
            request_id="differential",
            identity=Identity("differential", scopes, "api_key"),
        )

    async def observe(
        self,
        document: DocumentNode,
        *,
        compiled: bool,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        scopes: frozenset[str],
    ) -> tuple[Observation, Context]:
        sims = (self.sims.pricing, self.sims.crm, self.sims.shipping)
        calls_before = [served.state.total for served in sims]
        statements_before = self.backends.core.statements
        batches_before = _loader_batches()
        context = self.context(scopes)
        tasks_before = asyncio.all_tasks()
        result: ExecutionResult | None = None
        response: bytes | None = None
        if compiled:
            result = await execute_compiled(
                self.schema,
                document,
                cache=self.plans,
                operation_name=operation_name,
                variable_values=variables,
                context_value=context,
            )
        fell_back = compiled and result is None
        if result is None:
            # The gateway's schema has @defer/@stream, which graphql.execute refuses;
            # without them in the document this runs exactly as execute would.
            outcome = experimental_execute_incrementally(
                self.schema,
                document,
                context_value=context,
                variable_values=variables,
                operation_name=operation_name,
                executor_class=StrawberryGraphQLCoreExecutionContext,
                is_awaitable=optimized_is_awaitable,
                operation_extensions=None,
            )
            settled = outcome if not isawaitable(outcome) else await outcome
            if isinstance(settled, ExperimentalIncrementalExecutionResults):
                response = await streamed(settled)
            else:
                result = settled
        if response is None:
            assert result is not None
            response = formatted(result)
        # Work the operation left running (a loader batch whose fields were cancelled by a
        # non-null error) finishes before counting, or it would count for the next run.
        await _settle(tasks_before)
        batches_after = _loader_batches()
        observation = Observation(
            fell_back=fell_back,
            response=response,
            statements=self.backends.core.statements - statements_before,
            bolt_on_calls={
                served.state.service: served.state.total - before
                for served, before in zip(sims, calls_before, strict=True)
            },
            loader_batches={
                name: count - batches_before.get(name, 0)
                for name, count in batches_after.items()
                if count != batches_before.get(name, 0)
            },
        )
        return observation, context

    async def compare(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        operation_name: str | None = None,
        scopes: frozenset[str] = frozenset(ALL_SCOPES),
    ) -> tuple[Observation, Observation]:
        """Both executions' observations (graphql-core first), and the stale flags checked."""
        document = self.document(query)
        reference, core_context = await self.observe(
            document,
            compiled=False,
            variables=variables,
            operation_name=operation_name,
            scopes=scopes,
        )
        candidate, compiled_context = await self.observe(
            document,
            compiled=True,
            variables=variables,
            operation_name=operation_name,
            scopes=scopes,
        )
        assert compiled_context.extensions == core_context.extensions
        return reference, candidate

    @staticmethod
    def same(reference: Observation, candidate: Observation) -> bool:
        """Equal in everything but whether the candidate fell back.

        When an error propagated past its field (a non-null field nulled its parent),
        graphql-core cancels the sibling fields still waiting; their backend reads may
        or may not have run by then, under graphql-core alone too (measured: 0, 0, 3,
        0 statements in four runs of one document). The responses and the loader
        batches are compared then, not the statement and call counts.
        """
        if candidate.response != reference.response:
            return False
        if candidate.loader_batches != reference.loader_batches:
            return False
        if propagated(reference.response):
            return True
        return (candidate.statements, candidate.bolt_on_calls) == (
            reference.statements,
            reference.bolt_on_calls,
        )
