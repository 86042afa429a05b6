"""Per-request observability: one log line, request metrics, the request span.

``ObservabilityMiddleware`` (pure ASGI) wraps every HTTP request:

- sets ``adapters.observe.outgoing_headers`` so every bolt-on call of the
  request carries its ``X-Request-ID`` (and W3C ``traceparent`` when
  tracing is on);
- opens the request's server span, continuing a caller's ``traceparent``;
- counts GraphQL requests by operation name and outcome, with latency;
- writes one ``gateway.access`` log line with request id, client id,
  operation, status, duration, backend call count and error codes.

``OperationInfo`` is the strawberry extension that tells the middleware what
GraphQL made of the request (operation name, error codes, client id),
through the request's ``scope["state"]``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from adapters.observe import outgoing_headers
from gateway.observability import metrics
from gateway.observability.request_id import new_request_id
from gateway.observability.stats import RequestStats, current_stats
from gateway.observability.tracing import incoming_context, traceparent_headers

log = logging.getLogger("gateway.access")

GRAPHQL_PATH = "/graphql"
STATE_KEY = "graphql"
#: Polled by load balancers and Prometheus: logged at DEBUG so they do not drown the rest.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
#: The error code of a request the rate limiter refused (``gateway.limits.rate``).
RATE_LIMITED = "RATE_LIMITED"


class OperationInfo(SchemaExtension):
    """Leaves the operation's name, outcome and client id in the request's state."""

    def on_operation(self) -> Iterator[None]:
        yield
        execution = self.execution_context
        context: Any = execution.context
        request = getattr(context, "request", None)
        if request is None:
            return
        result = execution.result
        errors = list(result.errors or []) if result is not None else []
        data = result.data if result is not None else None
        codes = [str((error.extensions or {}).get("code") or "INTERNAL") for error in errors]
        client_id = getattr(context, "client_id", None)
        if not errors:
            outcome = "ok"
        elif RATE_LIMITED in codes:
            outcome = "rejected"  # refused before running (the limiter counts it per client)
        elif data is not None:
            outcome = "partial"
        else:
            outcome = "error"
        try:
            operation = execution.operation_name
            operation_type = execution.operation_type.value
        except Exception:  # an unparsable document has no operation to name
            operation, operation_type = None, None
        request.scope.setdefault("state", {})[STATE_KEY] = {
            "operation": operation,
            "type": operation_type,
            "outcome": outcome,
            "errors": codes,
            "client_id": client_id,
        }


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
            info: dict[str, Any] | None = state.get(STATE_KEY)
            if self.metrics_enabled and path == GRAPHQL_PATH:
                _count(info, status, seconds)
            if span is not None:
                _end_span(span, info, status)
            if otel_token is not None:
                otel_context.detach(otel_token)
            if self.access_log:
                _log(method, path, status, seconds, request_id, state, info, stats)


def _count(info: dict[str, Any] | None, status: int, seconds: float) -> None:
    if info is not None:
        metrics.record_request(info["operation"], info["outcome"], seconds)
    elif status >= 400:
        # Refused before GraphQL ran (bad JSON, wrong method, too large, limited).
        metrics.record_request(None, "rejected", seconds)
    # else: the GraphiQL page, not a GraphQL request.


def _end_span(span: trace.Span, info: dict[str, Any] | None, status: int) -> None:
    span.set_attribute("http.response.status_code", status)
    if info is not None:
        if info["operation"]:
            span.set_attribute("graphql.operation.name", info["operation"])
            span.update_name(f"graphql {info['operation']}")
        if info["errors"]:
            span.set_attribute("graphql.error_codes", info["errors"])
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR, f"HTTP {status}"))
    span.end()


def _log(
    method: str,
    path: str,
    status: int,
    seconds: float,
    request_id: str,
    state: dict[str, Any],
    info: dict[str, Any] | None,
    stats: RequestStats,
) -> None:
    level = logging.DEBUG if path in QUIET_PATHS and status < 500 else logging.INFO
    if not log.isEnabledFor(level):
        return
    operation = info["operation"] if info else None
    errors = info["errors"] if info else []
    client_id = (info or {}).get("client_id") or state.get("client_id") or "anonymous"
    duration_ms = round(seconds * 1000, 1)
    response_cache = (info or {}).get("response_cache")
    log.log(
        level,
        "%s %s %s %s %.1fms calls=%d errors=%s%s",
        method,
        path,
        status,
        operation or "-",
        duration_ms,
        stats.backend_calls,
        ",".join(errors) or "-",
        " response-cache=hit" if response_cache else "",
        extra={
            "response_cache": response_cache,
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
            "errors": errors,
        },
    )
