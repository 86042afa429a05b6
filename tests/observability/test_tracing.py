"""Spans for the request, each adapter call and each query; ``traceparent`` reaches the bolt-ons."""

from __future__ import annotations

import importlib.util

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from gateway.observability.tracing import TracingUnavailable, build_tracer_provider
from simulators.runner import Simulators
from tests.support.gateway import PRICED_QUERY, running_gateway, settings_for
from tests.support.metrics import sample

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


async def test_spans_and_propagated_traceparent(sqlite_core: str, sims: Simulators) -> None:
    settings = settings_for(
        sqlite_core, sims, tracing_enabled=True, tracing_exporter="none", cache_enabled=False
    )
    exporter = InMemorySpanExporter()
    async with running_gateway(settings) as gateway:
        provider: TracerProvider = gateway.app.state.tracer_provider
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        response = await gateway.client.post(
            "/graphql",
            json={"query": PRICED_QUERY},
            headers={
                "traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01",
                "x-request-id": "ops-trace-1",
            },
        )
        assert response.status_code == 200
        assert "errors" not in response.json()

    spans = exporter.get_finished_spans()
    server = [s for s in spans if s.kind == SpanKind.SERVER]
    assert len(server) == 1
    request_span = server[0]
    assert request_span.name == "graphql OpsPriced"
    # The caller's trace is continued, under the caller's span.
    assert format(request_span.context.trace_id, "032x") == CALLER_TRACE
    assert request_span.parent is not None
    assert format(request_span.parent.span_id, "016x") == CALLER_SPAN

    children = [s for s in spans if s.parent and s.parent.span_id == request_span.context.span_id]
    names = {s.name for s in children}
    assert "pricing listPrices" in names
    assert "core select" in names
    query_span = next(s for s in children if s.name == "core select")
    assert query_span.attributes is not None
    assert query_span.attributes["db.system"] == "sqlite"

    # The simulator saw the request's trace context and request id.
    (call,) = sims.pricing.state.recent("listPrices")
    assert call.traceparent == (
        f"00-{CALLER_TRACE}-{format(request_span.context.span_id, '016x')}-01"
    )
    assert call.request_id == "ops-trace-1"


async def test_without_tracing_only_the_request_id_is_forwarded(
    sqlite_core: str, sims: Simulators
) -> None:
    settings = settings_for(sqlite_core, sims, cache_enabled=False)
    async with running_gateway(settings) as gateway:
        assert gateway.app.state.tracer_provider is None
        response = await gateway.client.post(
            "/graphql",
            json={"query": PRICED_QUERY},
            headers={"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"},
        )
    assert response.status_code == 200
    (call,) = sims.pricing.state.recent("listPrices")
    assert call.traceparent is None
    # A generated id, the one returned to the caller.
    assert call.request_id == response.headers["x-request-id"]


def test_exporter_choice(sqlite_core: str, sims: Simulators) -> None:
    assert build_tracer_provider(settings_for(sqlite_core, sims)) is None  # off by default
    console = build_tracer_provider(
        settings_for(sqlite_core, sims, tracing_enabled=True, tracing_exporter="console")
    )
    assert console is not None
    console.shutdown()
    otlp_settings = settings_for(sqlite_core, sims, tracing_enabled=True, tracing_exporter="otlp")
    if not _otlp_installed():
        with pytest.raises(TracingUnavailable, match=r"boltgate\[otlp\]"):
            build_tracer_provider(otlp_settings)
    else:
        provider = build_tracer_provider(otlp_settings)
        assert provider is not None
        provider.shutdown()


def _otlp_installed() -> bool:
    try:
        return importlib.util.find_spec("opentelemetry.exporter.otlp.proto.http") is not None
    except ModuleNotFoundError:
        return False


@pytest.mark.postgres
async def test_postgres_queries_are_spans_and_metrics(postgres_core: str, sims: Simulators) -> None:
    settings = settings_for(
        postgres_core, sims, tracing_enabled=True, tracing_exporter="none", cache_enabled=False
    )
    exporter = InMemorySpanExporter()
    async with running_gateway(settings) as gateway:
        gateway.app.state.tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
        before = (await gateway.client.get("/metrics")).text
        assert "errors" not in await gateway.post(PRICED_QUERY)
        after = (await gateway.client.get("/metrics")).text
    spans = exporter.get_finished_spans()
    (request_span,) = [s for s in spans if s.name == "graphql OpsPriced"]
    queries = [
        s
        for s in spans
        if s.name == "core select"
        and s.parent is not None
        and s.parent.span_id == request_span.context.span_id
    ]
    assert queries
    assert all(
        s.attributes is not None and s.attributes["db.system"] == "postgresql" for s in queries
    )
    labels = {"service": "core", "operation": "select"}
    counted = sample(after, "gateway_backend_calls_total", **labels) - sample(
        before, "gateway_backend_calls_total", **labels
    )
    # Each query of the request is one span and one count (the outbox dispatcher's
    # polling and the outbox gauges' queries may add to the count, never fewer).
    assert counted >= len(queries)
