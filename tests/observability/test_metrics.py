"""``/metrics`` after a known workload: requests, backend calls, errors, batches, hooks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from adapters.core import CoreAdapter
from adapters.core.gateway_tables import ensure_gateway_tables, outbox
from gateway.observability import metrics
from simulators.runner import Simulators
from tests.support.gateway import (
    TEST_CLIENT_ID,
    Gateway,
    GatewayFactory,
    running_gateway,
    settings_for,
)
from tests.support.metrics import sample


@pytest.fixture
async def gateway(gateway_factory: GatewayFactory, sqlite_core: str, sims: Simulators) -> Gateway:
    """The gateway with the bolt-on cache off: every read shows as a backend call."""
    return await gateway_factory(settings_for(sqlite_core, sims, cache_enabled=False))


async def scrape(gateway: Gateway) -> str:
    response = await gateway.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


async def test_requests_are_counted_by_operation_and_outcome(gateway: Gateway) -> None:
    name = unique("OpsCount")
    query = f'query {name} {{ product(sku: "SKU-00001") {{ sku }} }}'
    for _ in range(3):
        assert "errors" not in await gateway.post(query)
    bad = await gateway.client.post(
        "/graphql", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert bad.status_code == 400

    text = await scrape(gateway)
    assert sample(text, "gateway_requests_total", operation=name, outcome="ok") == 3
    assert sample(text, "gateway_request_duration_seconds_count", operation=name) == 3
    assert sample(text, "gateway_requests_total", operation="anonymous", outcome="rejected") >= 1


async def test_graphql_errors_are_an_outcome(gateway: Gateway) -> None:
    name = unique("OpsBroken")
    body = await gateway.post(f"query {name} {{ noSuchField }}")
    assert body["errors"]
    text = await scrape(gateway)
    # An invalid document is refused before it runs.
    assert sample(text, "gateway_requests_total", operation=name, outcome="rejected") == 1
    assert sample(text, "gateway_requests_total", operation=name, outcome="ok") == 0


async def test_backend_calls_match_the_simulators_counters(
    gateway: Gateway, sims: Simulators
) -> None:
    before = await scrape(gateway)
    query = """{ a: product(sku: "SKU-00001") { price { listPrice } }
                 b: product(sku: "SKU-00002") { price { listPrice } } }"""
    for _ in range(2):
        assert "errors" not in await gateway.post(query)
    after = await scrape(gateway)

    labels = {"service": "pricing", "operation": "listPrices"}
    calls = sample(after, "gateway_backend_calls_total", **labels) - sample(
        before, "gateway_backend_calls_total", **labels
    )
    assert calls == sims.pricing.state.count("listPrices") == 2
    timed = sample(after, "gateway_backend_call_duration_seconds_count", **labels) - sample(
        before, "gateway_backend_call_duration_seconds_count", **labels
    )
    assert timed == 2
    # The core's queries are counted through the engine's cursor events.
    core = sample(after, "gateway_backend_calls_total", service="core", operation="select")
    assert core > sample(before, "gateway_backend_calls_total", service="core", operation="select")
    # Two SKUs in one batch per request: the price loader saw batches of 2.
    assert (
        sample(after, "gateway_loader_batch_size_sum", loader="prices")
        - sample(before, "gateway_loader_batch_size_sum", loader="prices")
        == 4
    )


async def test_backend_errors_are_counted_by_kind(gateway: Gateway, sims: Simulators) -> None:
    sims.pricing.state.configure(failure_rate=1.0, failure_status=500)
    labels = {"service": "pricing", "operation": "listPrices", "kind": "UPSTREAM_UNAVAILABLE"}
    before = sample(await scrape(gateway), "gateway_backend_errors_total", **labels)
    body = await gateway.post('{ product(sku: "SKU-00001") { price { listPrice } } }')
    assert body["errors"][0]["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
    after = sample(await scrape(gateway), "gateway_backend_errors_total", **labels)
    assert after - before == 1


async def test_hooks_for_the_other_layers(gateway: Gateway) -> None:
    service, cache, client = unique("svc"), unique("cache"), unique("client")
    metrics.set_circuit_state(service, "open")
    metrics.record_cache(cache, hit=True)
    metrics.record_cache(cache, hit=False)
    metrics.record_cache(cache, hit=False)
    metrics.record_rate_limited(client)
    text = await scrape(gateway)
    assert sample(text, "gateway_circuit_state", service=service) == 2
    assert sample(text, "gateway_cache_requests_total", cache=cache, result="hit") == 1
    assert sample(text, "gateway_cache_requests_total", cache=cache, result="miss") == 2
    assert sample(text, "gateway_rate_limited_total", client=client) == 1
    with pytest.raises(ValueError, match="state"):
        metrics.set_circuit_state(service, "ajar")


async def test_rate_limited_requests_are_counted_by_client(
    sqlite_core: str, sims: Simulators
) -> None:
    settings = settings_for(
        sqlite_core, sims, cache_enabled=False, rate_limit_burst=1, rate_limit_per_second=0.001
    )
    name = unique("OpsLimited")
    query = f'query {name} {{ product(sku: "SKU-00001") {{ sku }} }}'
    async with running_gateway(settings) as gateway:
        before = sample(await scrape(gateway), "gateway_rate_limited_total", client=TEST_CLIENT_ID)
        answers = [await gateway.client.post("/graphql", json={"query": query}) for _ in range(3)]
        refused = [a for a in answers if a.status_code == 429]
        assert refused, [a.status_code for a in answers]
        text = await scrape(gateway)
    counted = sample(text, "gateway_rate_limited_total", client=TEST_CLIENT_ID) - before
    assert counted == len(refused)
    assert sample(text, "gateway_requests_total", operation=name, outcome="rejected") == len(
        refused
    )
    assert sample(text, "gateway_requests_total", operation=name, outcome="ok") == 3 - len(refused)


async def test_circuit_state_follows_the_breaker(sqlite_core: str, sims: Simulators) -> None:
    settings = settings_for(
        sqlite_core, sims, cache_enabled=False, retry_attempts=1, breaker_failure_threshold=2
    )
    async with running_gateway(settings) as gateway:
        # Published from the start: closed.
        assert sample(await scrape(gateway), "gateway_circuit_state", service="pricing") == 0
        sims.pricing.state.configure(failure_rate=1.0, failure_status=500)
        for _ in range(2):
            await gateway.post('{ product(sku: "SKU-00001") { price { listPrice } } }')
        assert sample(await scrape(gateway), "gateway_circuit_state", service="pricing") == 2


async def test_outbox_figures_are_read_at_scrape_time(
    sims: Simulators, tmp_path_factory: pytest.TempPathFactory
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('outbox') / 'core.db'}"
    async with CoreAdapter(url) as core:
        await core.create_schema()
        # No outbox table (yet): the collector exposes nothing rather than failing the scrape.
        collector = metrics.OutboxCollector(lambda: core.engine)
        await collector.refresh()
        assert list(collector.collect()) == []
    async with running_gateway(settings_for(url, sims, cache_enabled=False)) as gateway:
        core = gateway.backends.core
        await ensure_gateway_tables(core)
        now = datetime.now(UTC)
        rows = [
            ("pending", now - timedelta(seconds=120)),
            ("pending", now - timedelta(seconds=5)),
            ("failed", now - timedelta(seconds=900)),
            ("delivered", now - timedelta(seconds=3000)),
        ]
        async with core.transaction() as conn:
            for status, created in rows:
                await conn.execute(
                    insert(outbox).values(
                        id=uuid.uuid4().hex,
                        type="order.placed",
                        entity_key="O-1",
                        occurred_at=created,
                        payload="{}",
                        status=status,
                        attempts=0,
                        next_attempt_at=created,
                        created_at=created,
                    )
                )
        text = await scrape(gateway)
    assert sample(text, "gateway_outbox_pending") == 2
    assert sample(text, "gateway_outbox_failed") == 1
    assert 119 <= sample(text, "gateway_outbox_oldest_pending_age_seconds") < 180


async def test_metrics_can_be_turned_off(sqlite_core: str, sims: Simulators) -> None:
    settings = settings_for(sqlite_core, sims, metrics_enabled=False, cache_enabled=False)
    async with running_gateway(settings) as gateway:
        assert (await gateway.client.get("/metrics")).status_code == 404
