"""OpenTelemetry tracing: a span per request, per adapter call and per core query.

Off unless ``tracing_enabled``. The gateway keeps its own ``TracerProvider``
(on ``app.state.tracer_provider``) instead of the process-global one, so
several apps in one process (tests) do not share exporters. Incoming W3C
``traceparent`` headers are continued; the request's trace context is sent
to the bolt-ons through ``adapters.observe.outgoing_headers``.

Exporters: ``otlp`` (OTLP over HTTP, from the ``otlp`` extra:
``pip install 'boltgate[otlp]'``), ``console`` (one JSON span per line on
stdout) or ``none`` (recorded, not exported: for tests, which add their
own in-memory exporter to the provider).
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.context import Context as OtelContext
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from adapters.observe import CallRecord
from gateway.observability.settings import ObservabilitySettings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

TRACER_NAME = "boltgate.gateway"
PROPAGATOR = TraceContextTextMapPropagator()


class TracingUnavailable(RuntimeError):
    """The configured exporter cannot be built (its package is missing)."""


def build_tracer_provider(settings: ObservabilitySettings) -> TracerProvider | None:
    """The provider the settings ask for, or ``None`` when tracing is off.

    Raises:
        TracingUnavailable: ``tracing_exporter = "otlp"`` without the ``otlp`` extra.
    """
    if not settings.tracing_enabled:
        return None
    # The SDK is imported only here: with tracing off (the default) a worker needs
    # the API alone, whose spans are no-ops (the SDK and psutil are ~2 MB per worker).
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SimpleSpanProcessor,
    )
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    provider = TracerProvider(
        resource=Resource.create({"service.name": settings.tracing_service_name}),
        sampler=ParentBased(TraceIdRatioBased(settings.tracing_sample_ratio)),
    )
    if settings.tracing_exporter == "otlp":
        provider.add_span_processor(BatchSpanProcessor(_otlp_exporter(settings)))
    elif settings.tracing_exporter == "console":
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    return provider


def exporter_problem(settings: ObservabilitySettings) -> str | None:
    """Why the configured exporter cannot start (checked before serving), or ``None``."""
    if not (settings.tracing_enabled and settings.tracing_exporter == "otlp"):
        return None
    try:
        found = importlib.util.find_spec("opentelemetry.exporter.otlp.proto.http")
    except ModuleNotFoundError:
        found = None
    return None if found is not None else _OTLP_MISSING


_OTLP_MISSING = (
    "GATEWAY_TRACING_EXPORTER=otlp needs the otlp extra: pip install 'boltgate[otlp]' "
    "(or set GATEWAY_TRACING_EXPORTER=console or none)"
)


def _otlp_exporter(settings: ObservabilitySettings) -> SpanExporter:
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found,unused-ignore]
            OTLPSpanExporter,
        )
    except ImportError as exc:
        raise TracingUnavailable(_OTLP_MISSING) from exc
    exporter: SpanExporter = OTLPSpanExporter(endpoint=settings.tracing_otlp_endpoint)
    return exporter


def incoming_context(headers: Mapping[str, str]) -> OtelContext:
    """The trace context a caller sent (``traceparent``), or an empty one."""
    return PROPAGATOR.extract(carrier=dict(headers))


def traceparent_headers(context: OtelContext) -> dict[str, str]:
    """``traceparent`` (and ``tracestate``) for the span in ``context``."""
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier, context=context)
    return carrier


class CallSpans:
    """A ``CallObserver`` that records each finished adapter call as a client span.

    The adapter reports a call when it has finished, so the span is written
    with the call's measured start and end times, under the current
    request's span.
    """

    def __init__(self, tracer: Tracer) -> None:
        self._tracer = tracer

    def backend_call(self, record: CallRecord) -> None:
        if record.service == "core":
            return  # core queries get their own spans from the cursor events
        end = time.time_ns()
        span = self._tracer.start_span(
            f"{record.service} {record.operation}",
            kind=SpanKind.CLIENT,
            start_time=end - int(record.seconds * 1e9),
            attributes={
                "peer.service": record.service,
                "gateway.backend.operation": record.operation,
                "gateway.backend.outcome": record.outcome,
            },
        )
        if record.status is not None:
            span.set_attribute("http.response.status_code", record.status)
        if record.outcome != "ok":
            span.set_status(Status(StatusCode.ERROR, record.outcome))
        span.end(end_time=end)


def tracer_of(provider: TracerProvider) -> Tracer:
    return provider.get_tracer(TRACER_NAME)


__all__ = [
    "CallSpans",
    "TracingUnavailable",
    "build_tracer_provider",
    "incoming_context",
    "trace",
    "traceparent_headers",
    "tracer_of",
]
