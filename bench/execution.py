"""CPU per operation of the executors, with the data in memory.

    .venv/bin/python -m bench.execution                 # figures for fanout and nested
    .venv/bin/python -m bench.execution -n 500 --query nested
    .venv/bin/python -m bench.execution --profile compiled --query nested

Seeds a core (scale 1, as ``bench.run``), starts the simulators in threads,
and runs each query once against the real adapters while recording every
adapter call's answer; the adapters are then replaced by replays of those
answers (``Replay``), so the timed requests run the real schema, resolvers,
DataLoaders (same batches) and permission wrappers, but no I/O. Measured per
operation, alternating, CPU time (``time.process_time``), median of ``-n``:

- ``graphql-core``: graphql-core's executor with strawberry's executor class
  (as the gateway's fallback runs it), on a parsed document;
- ``compiled``: ``gateway.execution.execute_compiled`` on the same document;
- ``pipeline``: the gateway's operation steps from the text (cached parse and
  validation, document limits, operation and variables, cost, permissions)
  and its ``Execute`` step with compiled plans, as ``/graphql`` runs them
  after authentication;
- ``pipeline, plain``: the same steps with compiled execution off.

Also timed alone: the cost walk, the mutation refusal check, uncached
parsing and validation, compiling a plan, and one masking pass. The speed
goal (from the performance issue) is printed beside the figures: compiled at
most 1/4 of graphql-core's CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
from graphql import ExecutionResult, experimental_execute_incrementally, parse, validate
from graphql.execution.values import get_variable_values
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from bench.run import FANOUT, LOOKUP, NESTED
from bench.sims import TOKENS

QUERIES = {"fanout": FANOUT, "nested": NESTED, "lookup": LOOKUP}
#: The speed goal: compiled execution at most this share of graphql-core's CPU.
GOAL_RATIO = 0.25


class Replay:
    """An adapter stand-in answering each call with the recorded answer of the real one.

    ``record=True`` forwards to the adapter and keeps the answers; afterwards every
    call with the same arguments returns its answer without I/O (a miss raises).
    """

    def __init__(self, target: Any) -> None:
        self._target = target
        self._answers: dict[tuple[str, str], Any] = {}
        self.record = True
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if not callable(attribute):
            return attribute

        async def call(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            key = (name, repr((args, sorted(kwargs.items()))))
            if self.record:
                answer = await attribute(*args, **kwargs)
                self._answers[key] = answer
                return answer
            return self._answers[key]

        return call


async def _awaited(value: Any) -> Any:
    return await value if not isinstance(value, ExecutionResult) else value


def _formatted(result: Any) -> bytes:
    errors = [e.formatted for e in result.errors] if result.errors else None
    return orjson.dumps({"data": result.data, "errors": errors})


async def measure(query_name: str, n: int, profile: str | None) -> str:
    from adapters.core import CoreAdapter
    from gateway.backends import Backends
    from gateway.settings import Settings
    from simulators.runner import Simulators
    from simulators.seed import seed

    query = QUERIES[query_name]
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        core_url = f"sqlite+aiosqlite:///{Path(tmp) / 'core.db'}"
        async with CoreAdapter(core_url) as core:
            await core.create_schema()
            await seed(core, scale=1.0)
        with Simulators.start_in_thread(secrets=TOKENS, seeded_orders=20_000) as sims:
            settings = Settings(
                core_database_url=core_url,
                pricing_url=sims.pricing.url,
                pricing_token=TOKENS["pricing"],
                crm_url=sims.crm.url,
                crm_api_key=TOKENS["crm"],
                shipping_url=sims.shipping.url,
                shipping_token=TOKENS["shipping"],
                cache_enabled=False,
                max_query_cost=1_000_000,
            )
            real = Backends.from_settings(settings)
            async with real:
                core = Replay(real.core)
                built_in = {name: Replay(a) for name, a in real.built_in.items()}
                replays = [core, *built_in.values()]
                backends = Backends(core, built_in)  # type: ignore[arg-type]
                lines += await _run(query, n, profile, settings, backends, replays)
    return "\n".join(lines)


async def _run(
    query: str,
    n: int,
    profile: str | None,
    settings: Any,
    backends: Any,
    replays: list[Replay],
) -> list[str]:
    from gateway.app import create_schema, validation_rules
    from gateway.context import Context, ContextFactory
    from gateway.execution import PlanCache, compile_operation, execute_compiled
    from gateway.execution.documents import Documents
    from gateway.execution.masking import masked
    from gateway.limits.cost import CostModel, operation_cost
    from gateway.limits.shape import ShapeLimits
    from gateway.security.clients import ALL_SCOPES, Identity
    from gateway.security.permissions import refused_root_fields

    schema = create_schema(settings)._schema  # protected fields guarded, as the app's
    document = parse(query)
    assert not validate(schema, document)
    plans = PlanCache()
    identity = Identity("bench", frozenset(ALL_SCOPES), "api_key")

    def context() -> Context:
        return Context(settings=settings, backends=backends, request_id="bench", identity=identity)

    def chained(plans: PlanCache | None) -> Callable[[], Awaitable[Any]]:
        return _pipeline(
            query,
            Documents(schema, validation_rules(settings), max_tokens=settings.max_query_tokens),
            CostModel.from_settings(settings),
            ShapeLimits.from_settings(settings),
            ContextFactory(settings, backends),
            identity,
            plans,
        )

    async def core_path() -> Any:
        result = experimental_execute_incrementally(
            schema,
            document,
            context_value=context(),
            executor_class=StrawberryGraphQLCoreExecutionContext,
            is_awaitable=optimized_is_awaitable,
            operation_extensions=None,
        )
        return await result if not isinstance(result, ExecutionResult) else result

    async def compiled_path() -> Any:
        return await execute_compiled(schema, document, cache=plans, context_value=context())

    paths: dict[str, Callable[[], Awaitable[Any]]] = {
        "graphql-core": core_path,
        "compiled": compiled_path,
        "pipeline": chained(PlanCache()),
        "pipeline, plain": chained(None),
    }
    # Record the answers through the real adapters, then replay them.
    reference = _formatted(await core_path())
    for replay in replays:
        replay.record = False
    calls: dict[str, int] = {}
    for name, path in paths.items():
        before = sum(r.calls for r in replays)
        result = await path()
        calls[name] = sum(r.calls for r in replays) - before
        assert _formatted(result) == reference, f"{name} answers differently"
        for _ in range(30):  # warm-up
            await path()

    if profile is not None:
        return await _profiled(paths[profile], n)

    names = list(paths)
    medians = {name: ms for name, ms in zip(names, await _alternating(paths, n), strict=True)}

    # The pre-execution checks alone (what the pipeline runs around execution).
    model = CostModel.from_settings(settings)
    no_variables = get_variable_values(schema, (), {})
    operation: Any = document.definitions[0]
    sample = await core_path()
    extras: dict[str, float] = {}
    for label, step in (
        ("cost walk (operation_cost)", lambda: operation_cost(schema, operation, {}, {}, model)),
        ("mutation refusal check", lambda: refused_root_fields(operation, {}, identity.scopes)),
        ("validate (uncached)", lambda: validate(schema, document)),
        ("parse (uncached)", lambda: parse(query)),
        ("compile the plan", lambda: compile_operation(schema, document, None, no_variables)),
        ("masking pass", lambda: masked(sample.errors or [], "bench")),
    ):
        started = time.process_time()
        for _ in range(n):
            step()
        extras[label] = (time.process_time() - started) / n * 1000
    # Per operation, whatever its fields: `{ __typename }`.
    trivial = parse("{ __typename }")
    fixed: dict[str, Callable[[], Awaitable[Any]]] = {
        "graphql-core": lambda: _awaited(
            experimental_execute_incrementally(schema, trivial, context_value=context())
        ),
        "compiled": lambda: execute_compiled(schema, trivial, cache=plans, context_value=context()),
    }
    for step in fixed.values():
        for _ in range(30):
            await step()
    fixed_ms = dict(zip(fixed, await _alternating(fixed, n), strict=True))

    base = medians["graphql-core"]
    out = [f"{len(reference)} bytes of JSON; CPU per operation, median of {n}:"]
    for name in names:
        out.append(
            f"  {name:26s} {medians[name]:7.3f} ms  ({medians[name] / base:4.2f} x graphql-core)"
            f"  adapter calls {calls[name]}"
        )
    out.append("  fixed cost per operation (`{ __typename }`), median:")
    for name, value in fixed_ms.items():
        out.append(f"    {name:26s} {value:7.3f} ms")
    ratio = medians["compiled"] / base
    verdict = "met" if ratio <= GOAL_RATIO else "missed"
    out.append(f"  goal: compiled <= {GOAL_RATIO:.2f} x graphql-core: {ratio:.2f} ({verdict})")
    out.append("  alone:")
    for label, value in extras.items():
        out.append(f"    {label:28s} {value:7.3f} ms")
    return out


def _pipeline(
    query: str,
    documents: Any,
    model: Any,
    shape: Any,
    make_context: Any,
    identity: Any,
    plans: Any,
) -> Callable[[], Awaitable[Any]]:
    """The gateway's operation steps and ``Execute`` from the document's text."""
    from starlette.requests import HTTPConnection

    from gateway.execution.execute import Execute
    from gateway.execution.prepare import OpenContext, Parse, Resolve, Validate
    from gateway.limits.cost import CostLimit
    from gateway.limits.shape import DocumentLimits
    from gateway.pipeline import Exchange, GraphQLRequest, Transport, chain
    from gateway.security.permissions import RootPermissions

    handler = chain(
        [
            OpenContext(make_context),
            Parse(documents),
            DocumentLimits(shape, documents.schema),
            Validate(documents),
            Resolve(documents.schema),
            CostLimit(documents.schema, model),
            RootPermissions(),
        ],
        Execute(plans),
    )
    connection = HTTPConnection({"type": "http", "headers": [], "method": "POST", "path": "/"})
    params = GraphQLRequest(query)

    async def run() -> Any:
        exchange = Exchange(connection, Transport.POST, identity=identity, params=params)
        return (await handler(exchange)).result

    return run


async def _alternating(paths: dict[str, Callable[[], Awaitable[Any]]], n: int) -> list[float]:
    """Each path's median CPU time in ms, the paths taking turns (order reversed every round)."""
    cpu: dict[str, list[float]] = {name: [] for name in paths}
    names = list(paths)
    for index in range(n):
        for name in names if index % 2 else names[::-1]:
            started = time.process_time()
            await paths[name]()
            cpu[name].append(time.process_time() - started)
    return [statistics.median(cpu[name]) * 1000 for name in names]


async def _profiled(path: Callable[[], Awaitable[Any]], n: int) -> list[str]:
    from pyinstrument import Profiler
    from pyinstrument.renderers import ConsoleRenderer

    profiler = Profiler(interval=0.0002, async_mode="enabled")
    with profiler:
        for _ in range(n):
            await path()
    flat = profiler.output(
        ConsoleRenderer(unicode=False, color=False, flat=True, time="percent_of_total")
    )
    return [
        "--- by library (self time) ---",
        *_by_library(profiler),
        "--- by function (self time) ---",
        *flat.splitlines()[:40],
        "--- call tree ---",
        profiler.output_text(unicode=False, color=False, show_all=False),
    ]


#: Where a frame's self time is counted, by the first matching part of its file path.
LIBRARIES = (
    ("gateway/execution/", "gateway.execution (the compiled executor)"),
    ("graphql/", "graphql-core"),
    ("strawberry/", "strawberry"),
    ("/schema/", "schema (types, resolvers)"),
    ("/resolvers/", "schema (types, resolvers)"),
    ("gateway/loaders.py", "loaders and metrics"),
    ("gateway/observability/metrics.py", "loaders and metrics"),
    ("bench/", "bench (replayed adapters)"),
    ("asyncio/", "event loop, tasks (uvloop's C loop shows as asyncio's Runner)"),
    ("<built-in>", "builtins"),
)


def _by_library(profiler: Any) -> list[str]:
    """Self time by library; ``[self]``/``[await]`` pseudo-frames count for their parent."""
    totals: dict[str, float] = {}
    stack = [profiler.last_session.root_frame()]
    while stack:
        frame = stack.pop()
        children = list(frame.children)
        stack.extend(children)
        owner = frame.parent if frame.is_synthetic and frame.parent is not None else frame
        path = owner.file_path or "<built-in>"
        label = next((name for part, name in LIBRARIES if part in path), "other")
        own = frame.time - sum(child.time for child in children)
        totals[label] = totals.get(label, 0.0) + max(own, 0.0)
    whole = sum(totals.values()) or 1.0
    return [
        f"  {share / whole:6.1%}  {name}"
        for name, share in sorted(totals.items(), key=lambda item: -item[1])
    ]


def run(coroutine: Any, *, loop: str) -> Any:
    if loop == "uvloop":
        import uvloop

        return uvloop.run(coroutine)
    return asyncio.run(coroutine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--query", choices=sorted(QUERIES), action="append")
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument(
        "--loop",
        choices=["uvloop", "asyncio"],
        default="uvloop",
        help="event loop (uvloop: what uvicorn runs `gateway serve` on)",
    )
    parser.add_argument(
        "--profile",
        choices=["graphql-core", "compiled", "strawberry+extensions"],
        help="print a pyinstrument profile of one path instead of the figures",
    )
    args = parser.parse_args()
    for name in args.query or ["fanout", "nested"]:
        print(f"== {name} ({args.loop})")
        print(run(measure(name, args.n, args.profile), loop=args.loop))


if __name__ == "__main__":
    main()
