"""Per-request observability: one log line, request metrics, the request span.

``ObservabilityMiddleware`` (pure ASGI) wraps every HTTP request:

- sets ``adapters.observe.outgoing_headers`` so every bolt-on call of the
  request carries its ``X-Request-ID`` (and W3C ``traceparent`` when
  tracing is on);
- opens the request's server span, continuing a caller's ``traceparent``;
- counts GraphQL requests by operation name and outcome, with latency;
- writes one ``gateway.access`` log line with request id, client id,
  operation, status, duration, backend call count and error codes.

What GraphQL made of the request (each operation's name, outcome, error
codes and client) comes from the endpoint as typed ``OperationOutcome``
records in the request's ``RequestStats``. Repeated error codes are folded
(``FORBIDDEN*42``) so one line stays one line.
"""

from __future__ import annotations

import logging
import time
from collections import Counter

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.observe import outgoing_headers
from gateway.observability import metrics
from gateway.observability.request_id import new_request_id
from gateway.observability.stats import RequestStats, current_stats
from gateway.observability.tracing import incoming_context, traceparent_headers
from gateway.pipeline import OperationOutcome

log = logging.getLogger("gateway.access")

GRAPHQL_PATH = "/graphql"
#: Polled by load balancers and Prometheus: logged at DEBUG so they do not drown the rest.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class ObservabilityMiddleware:
    """Request log line, request metrics, request span and outgoing headers.

    Args:
        app: the wrapped ASGI app.
        tracer: the tracer, or ``None`` when tracing is off.
        access_log: write the per-request log line.
        metrics_enabled: count requests in the Prometheus metrics.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        tracer: Tracer | None = None,
        access_log: bool = True,
        metrics_enabled: bool = True,
    ) -> None:
        self.app = app
        self.tracer = tracer
        self.access_log = access_log
        self.metrics_enabled = metrics_enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        request_id = state.get("request_id") or new_request_id()
        forwarded = {"X-Request-ID": request_id}
        if scope["type"] == "websocket":
            token = outgoing_headers.set(forwarded)
            try:
                await self.app(scope, receive, send)
            finally:
                outgoing_headers.reset(token)
            return

        method, path = scope["method"], scope["path"]
        span = None
        otel_token = None
        if self.tracer is not None:
            parent = incoming_context(Headers(scope=scope))
            span = self.tracer.start_span(
                f"{method} {path}",
                context=parent,
                kind=SpanKind.SERVER,
                attributes={
                    "http.request.method": method,
                    "url.path": path,
                    "gateway.observability.request_id": request_id,
                },
            )
            span_context = trace.set_span_in_context(span, parent)
            otel_token = otel_context.attach(span_context)
            forwarded.update(traceparent_headers(span_context))
        stats = RequestStats()
        stats_token = current_stats.set(stats)
        headers_token = outgoing_headers.set(forwarded)
        status = 500
        started = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            seconds = time.perf_counter() - started
            outgoing_headers.reset(headers_token)
            current_stats.reset(stats_token)
            if self.metrics_enabled and path == GRAPHQL_PATH:
                _count(stats.operations, status, seconds)
            if span is not None:
                _end_span(span, stats.operations, status)
            if otel_token is not None:
                otel_context.detach(otel_token)
            if self.access_log:
                _log(method, path, status, seconds, request_id, stats)


def _count(operations: list[OperationOutcome], status: int, seconds: float) -> None:
    for operation in operations:
        metrics.record_request(operation.operation, operation.outcome.value, seconds)
    if not operations and status >= 400:
        # Refused before GraphQL ran (bad JSON, wrong method, too large, limited).
        metrics.record_request(None, "rejected", seconds)
    # else: the GraphiQL page, not a GraphQL request.


def _end_span(span: trace.Span, operations: list[OperationOutcome], status: int) -> None:
    span.set_attribute("http.response.status_code", status)
    names = [operation.operation for operation in operations if operation.operation]
    if names:
        span.set_attribute("graphql.operation.name", names[0])
        span.update_name(f"graphql {names[0]}")
    codes = [code for operation in operations for code in operation.codes]
    if codes:
        span.set_attribute("graphql.error_codes", sorted(set(codes)))
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR, f"HTTP {status}"))
    span.end()


def fold(codes: list[str]) -> str:
    """``FORBIDDEN*42,UPSTREAM_TIMEOUT``: each code once, with its count when repeated."""
    counts = Counter(codes)
    return ",".join(f"{code}*{n}" if n > 1 else code for code, n in counts.items())


def _log(
    method: str,
    path: str,
    status: int,
    seconds: float,
    request_id: str,
    stats: RequestStats,
) -> None:
    level = logging.DEBUG if path in QUIET_PATHS and status < 500 else logging.INFO
    if not log.isEnabledFor(level):
        return
    operations = stats.operations
    names = [operation.operation for operation in operations if operation.operation]
    operation = ",".join(names) if names else None
    codes = [code for op in operations for code in op.codes]
    client_id = next((op.client_id for op in operations if op.client_id), None) or "anonymous"
    duration_ms = round(seconds * 1000, 1)
    cached = any(op.response_cache == "hit" for op in operations)
    folded = fold(codes)
    log.log(
        level,
        "%s %s %s %s %.1fms calls=%d errors=%s%s",
        method,
        path,
        status,
        operation or "-",
        duration_ms,
        stats.backend_calls,
        folded or "-",
        " response-cache=hit" if cached else "",
        extra={
            "response_cache": "hit" if cached else None,
            "request_id": request_id,
            "client_id": client_id,
            "method": method,
            "path": path,
            "status": status,
            "operation": operation,
            "duration_ms": duration_ms,
            "backend_calls": stats.backend_calls,
            "backend_errors": stats.backend_errors,
            "backend_calls_by_service": stats.by_service,
            "errors": folded.split(",") if folded else [],
        },
    )
