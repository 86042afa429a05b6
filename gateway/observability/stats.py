"""What the gateway learns about each backend call, and where it sends it.

- ``RequestStats``: per-request tallies (backend calls, failures) kept in a
  context variable, so the request's log line can report them; DataLoader
  tasks inherit the variable and add to the same object.
- ``StatsObserver``: the ``CallObserver`` that fills ``RequestStats``.
- ``instrument_core``: SQLAlchemy cursor events on the core engine, which
  report every query as a ``CallRecord`` (service ``core``, operation the
  statement kind) and, when tracing is on, wrap it in a span.
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


_STARTED = "_gateway_started"
_SPAN = "_gateway_span"


def statement_kind(statement: str) -> str:
    """``select``, ``insert``, ... : the first keyword, a label of bounded cardinality."""
    word = statement.lstrip().split(None, 1)[0].lower() if statement.strip() else "other"
    return word if word in {"select", "insert", "update", "delete", "with"} else "other"


def instrument_core(
    engine: Engine, observers: Sequence[CallObserver], tracer: Tracer | None = None
) -> None:
    """Report every core query to ``observers`` (and trace it when ``tracer`` is given).

    Listens on the sync engine under the async one; the events run in the
    task that awaited the query, so context variables (the request's
    stats, its current span) are those of the request.
    """
    system = engine.dialect.name

    def before(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        if context is None:
            return
        setattr(context, _STARTED, time.perf_counter())
        # Only queries inside a trace get a span: a background poller's (the outbox
        # dispatcher's) would otherwise start a new one-span trace every round.
        if tracer is not None and trace.get_current_span().get_span_context().is_valid:
            kind = statement_kind(statement)
            span = tracer.start_span(
                f"core {kind}",
                kind=SpanKind.CLIENT,
                # The statement text only: parameters (customer data) stay out of traces.
                attributes={"db.system": system, "db.query.text": statement[:2000]},
            )
            setattr(context, _SPAN, span)

    def finish(context: Any, statement: str, outcome: str) -> None:
        started = getattr(context, _STARTED, None)
        if started is None:
            return
        setattr(context, _STARTED, None)
        record = CallRecord(
            "core", statement_kind(statement), time.perf_counter() - started, outcome
        )
        for observer in observers:
            observer.backend_call(record)
        span: Span | None = getattr(context, _SPAN, None)
        if span is not None:
            setattr(context, _SPAN, None)
            if outcome != "ok":
                span.set_status(Status(StatusCode.ERROR, outcome))
            span.end()

    def after(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        if context is not None:
            finish(context, statement, "ok")

    def failed(exception_context: Any) -> None:
        context = exception_context.execution_context
        if context is not None:
            finish(context, exception_context.statement or "", _error_kind(exception_context))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    event.listen(engine, "handle_error", failed)


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
    for engine in backends.core.sync_engines:
        instrument_core(engine, observers, tracer)
