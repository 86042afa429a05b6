"""What the gateway learns about each backend call, and where it sends it.

- ``RequestStats``: per-request tallies (backend calls, failures) kept in a
  context variable, so the request's log line can report them; DataLoader
  tasks inherit the variable and add to the same object.
- ``StatsObserver``: the ``CallObserver`` that fills ``RequestStats``.
- ``instrument_core``: every core statement (the engines' cursor events, and
  the watcher of a PostgreSQL core's reads) reported as a ``CallRecord``
  (service ``core``, operation the statement kind) and, when tracing is on,
  wrapped in a span.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from sqlalchemy import event
from sqlalchemy.engine import Engine

from adapters.core import CoreAdapter
from adapters.observe import CallObserver, CallRecord
from gateway.backends import Backends
from gateway.pipeline import OperationOutcome


@dataclass
class RequestStats:
    """What one request did: its operations' outcomes and its backend calls.

    The endpoint adds each operation's ``OperationOutcome`` (several for a
    batch); ``StatsObserver`` counts the calls. The observability middleware
    reads it when the response is done.
    """

    backend_calls: int = 0
    backend_errors: int = 0
    by_service: dict[str, int] = field(default_factory=dict)
    operations: list[OperationOutcome] = field(default_factory=list)


current_stats: ContextVar[RequestStats | None] = ContextVar("gateway_request_stats", default=None)


class StatsObserver:
    """Adds each backend call to the current request's ``RequestStats``."""

    def backend_call(self, record: CallRecord) -> None:
        stats = current_stats.get()
        if stats is None:
            return
        stats.backend_calls += 1
        stats.by_service[record.service] = stats.by_service.get(record.service, 0) + 1
        if record.outcome != "ok":
            stats.backend_errors += 1


_WATCH = "_gateway_watch"


def statement_kind(statement: str) -> str:
    """``select``, ``insert``, ... : the first keyword, a label of bounded cardinality."""
    word = statement.lstrip().split(None, 1)[0].lower() if statement.strip() else "other"
    return word if word in {"select", "insert", "update", "delete", "with"} else "other"


@dataclass(slots=True)
class _Started:
    """A statement under way: when it began, its kind, its span if traced."""

    at: float
    kind: str
    span: Span | None


class CoreStatements:
    """Reports each core statement to ``observers`` as a ``CallRecord``, traced when asked.

    A ``StatementWatcher`` of the reads that run outside SQLAlchemy
    (``CoreAdapter.watch_reads``), and fed by the engines' cursor events for
    the rest. Both run in the task that awaited the statement, so context
    variables (the request's stats, its current span) are the request's.

    Args:
        system: the database's name for spans (``postgresql``, ``sqlite``).
        observers: who receives each finished statement.
        tracer: when given, each statement inside a trace gets a client span.
    """

    def __init__(
        self, system: str, observers: Sequence[CallObserver], tracer: Tracer | None = None
    ) -> None:
        self._system = system
        self._observers = tuple(observers)
        self._tracer = tracer

    def started(self, statement: str) -> _Started:
        kind = statement_kind(statement)
        span: Span | None = None
        # Only queries inside a trace get a span: a background poller's (the outbox
        # dispatcher's) would otherwise start a new one-span trace every round.
        if self._tracer is not None and trace.get_current_span().get_span_context().is_valid:
            span = self._tracer.start_span(
                f"core {kind}",
                kind=SpanKind.CLIENT,
                # The statement text only: parameters (customer data) stay out of traces.
                attributes={"db.system": self._system, "db.query.text": statement[:2000]},
            )
        return _Started(time.perf_counter(), kind, span)

    def finished(self, token: object, outcome: str) -> None:
        if not isinstance(token, _Started):
            return
        record = CallRecord("core", token.kind, time.perf_counter() - token.at, outcome)
        for observer in self._observers:
            observer.backend_call(record)
        if token.span is not None:
            if outcome != "ok":
                token.span.set_status(Status(StatusCode.ERROR, outcome))
            token.span.end()

    def listen(self, engine: Engine) -> None:
        """Watch ``engine``'s statements through its cursor events."""

        def before(
            conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
        ) -> None:
            if context is not None:
                setattr(context, _WATCH, self.started(statement))

        def finish(context: Any, outcome: str) -> None:
            token = getattr(context, _WATCH, None)
            if token is not None:
                setattr(context, _WATCH, None)
                self.finished(token, outcome)

        def after(
            conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
        ) -> None:
            if context is not None:
                finish(context, "ok")

        def failed(exception_context: Any) -> None:
            context = exception_context.execution_context
            if context is not None:
                finish(context, _error_kind(exception_context))

        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
        event.listen(engine, "handle_error", failed)


def instrument_core(
    core: CoreAdapter, observers: Sequence[CallObserver], tracer: Tracer | None = None
) -> None:
    """Report every statement of ``core`` to ``observers`` (traced when ``tracer`` is given)."""
    statements = CoreStatements(core.engine.dialect.name, observers, tracer)
    for engine in core.sync_engines:
        statements.listen(engine)
    core.watch_reads(statements)


def _error_kind(exception_context: Any) -> str:
    if exception_context.is_disconnect:
        return "UPSTREAM_UNAVAILABLE"
    original = exception_context.original_exception
    name = type(original).__name__.lower()
    return "UPSTREAM_TIMEOUT" if "timeout" in name or "cancel" in name else "UPSTREAM_ERROR"


def attach_observers(
    backends: Backends, observers: Sequence[CallObserver], tracer: Tracer | None = None
) -> None:
    """Watch every call of ``backends``: the bolt-ons' observer lists, the core's engine.

    Call after the backends are entered (the core's engine exists only then).
    """
    for observer in observers:
        backends.add_observer(observer)
    instrument_core(backends.core, observers, tracer)
