"""Latency, failures, hangs, counters and the admin endpoints, over real HTTP."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest

from simulators.common import Knobs, SimulatorState
from simulators.pricing import create_pricing_app
from simulators.runner import BackgroundServer, Simulators
from tests.simulators.support import assert_problem
from tests.support.simulators import CRM_API_KEY, PRICING_TOKEN

SKUS = {"sku": ["SKU-00001", "SKU-00002"]}


def test_latency_delays_every_contract_call(sims: Simulators, pricing: httpx.Client) -> None:
    pricing.get("/v1/prices", params=SKUS)  # connect outside the measurement
    sims.pricing.state.latency = 0.2

    started = time.perf_counter()
    response = pricing.get("/v1/prices", params=SKUS)
    elapsed = time.perf_counter() - started

    assert response.status_code == 200
    assert elapsed >= 0.2


def test_latency_spares_other_operations_and_admin(
    sims: Simulators, pricing: httpx.Client, anonymous: httpx.Client
) -> None:
    pricing.get("/v1/prices", params=SKUS)
    sims.pricing.state.configure(latency=0.5, operations=["createQuote"])

    started = time.perf_counter()
    pricing.get("/v1/prices", params=SKUS)
    anonymous.get(f"{sims.pricing.url}/_sim/stats")
    elapsed = time.perf_counter() - started

    assert elapsed < 0.4


def test_failure_rate_one_answers_503_problems(sims: Simulators, pricing: httpx.Client) -> None:
    sims.pricing.state.failure_rate = 1

    responses = [pricing.get("/v1/prices", params=SKUS) for _ in range(3)]

    for response in responses:
        assert_problem(response, 503)
        assert "retry-after" not in response.headers
    assert sims.pricing.state.count("listPrices") == 3


def test_failure_status_429_carries_retry_after(sims: Simulators, crm: httpx.Client) -> None:
    sims.crm.state.configure(failure_rate=1.0, failure_status=429)

    response = crm.get("/v1/accounts/C-000001/insights")

    assert_problem(response, 429)
    assert response.headers["retry-after"] == "1"


def test_failures_come_before_auth(sims: Simulators, anonymous: httpx.Client) -> None:
    # Like an overloaded proxy in front of the service: no credentials needed to get a 503.
    sims.shipping.state.failure_rate = 1

    response = anonymous.get(f"{sims.shipping.url}/v1/shipments", params={"order_number": "x"})

    assert_problem(response, 503)


def test_failure_rate_fails_about_that_share_reproducibly(
    sims: Simulators, pricing: httpx.Client
) -> None:
    def failures() -> list[bool]:
        sims.pricing.state.reset()  # re-seeds the random source
        sims.pricing.state.failure_rate = 0.5
        return [pricing.get("/v1/prices", params=SKUS).status_code == 503 for _ in range(60)]

    first, second = failures(), failures()

    assert first == second
    assert 15 <= sum(first) <= 45


def test_failures_limited_to_some_operations(sims: Simulators, shipping: httpx.Client) -> None:
    sims.shipping.state.configure(failure_rate=1, operations=["createShipment"])

    listed = shipping.get("/v1/shipments", params={"order_number": "SO-000001"})
    created = shipping.post(
        "/v1/shipments",
        json={"order_number": "K-1", "warehouse_code": "W", "lines": [{"sku": "S", "quantity": 1}]},
        headers={"Idempotency-Key": "knobs-test-key"},
    )

    assert listed.status_code == 200
    assert_problem(created, 503)
    assert sims.shipping.state.created_for("K-1") is None


def test_counters_reset_in_process_and_over_http(
    sims: Simulators, pricing: httpx.Client, anonymous: httpx.Client
) -> None:
    state = sims.pricing.state
    pricing.get("/v1/prices", params=SKUS, headers={"traceparent": "00-abc-def-01"})
    pricing.get("/v1/prices", params=SKUS)
    assert state.count("listPrices") == 2
    assert state.total == 2
    assert state.recent()[0].traceparent == "00-abc-def-01"

    state.reset()
    assert state.counts() == {}
    assert state.batches("listPrices") == []
    pricing.get("/v1/prices", params=SKUS)
    assert state.count("listPrices") == 1

    reset = anonymous.post(f"{sims.pricing.url}/_sim/reset")
    assert reset.status_code == 200
    assert state.count("listPrices") == 0
    assert state.recent() == []


def test_stats_endpoint_reports_counts_batches_and_headers(
    sims: Simulators, pricing: httpx.Client, anonymous: httpx.Client
) -> None:
    pricing.get("/v1/prices", params=SKUS, headers={"X-Request-ID": "r-42"})
    pricing.post("/v1/quotes", json={})

    stats = anonymous.get(f"{sims.pricing.url}/_sim/stats").json()

    assert stats["service"] == "pricing"
    assert stats["counts"] == {"listPrices": 1, "createQuote": 1}
    assert stats["total"] == 2
    assert stats["in_flight"] == 0
    assert stats["peak_in_flight"] == 1
    assert stats["batches"] == {"listPrices": [SKUS["sku"]]}
    assert stats["recent"][0] == {
        "operation": "listPrices",
        "request_id": "r-42",
        "traceparent": None,
        "idempotency_key": None,
    }
    # Admin calls are not counted.
    assert sims.pricing.state.total == 2


def test_config_endpoint_turns_the_knobs(
    sims: Simulators, pricing: httpx.Client, anonymous: httpx.Client
) -> None:
    config_url = f"{sims.pricing.url}/_sim/config"

    changed = anonymous.post(config_url, json={"failure_rate": 1, "failure_status": 429})

    assert changed.status_code == 200
    assert changed.json()["failure_status"] == 429
    assert anonymous.get(config_url).json()["failure_rate"] == 1.0
    assert sims.pricing.state.failure_rate == 1.0
    assert_problem(pricing.get("/v1/prices", params=SKUS), 429)

    anonymous.post(f"{sims.pricing.url}/_sim/reset")
    assert anonymous.get(config_url).json() == Knobs().to_json()
    assert pricing.get("/v1/prices", params=SKUS).status_code == 200


@pytest.mark.parametrize(
    "change",
    [
        {"failure_rate": 1.5},
        {"failure_rate": "all"},
        {"failure_status": 404},
        {"latency": -1},
        {"hang": "yes"},
        {"operations": "listPrices"},
        {"seed": 1.5},
        {"no_such_knob": 1},
    ],
)
def test_config_endpoint_rejects_bad_knobs(
    sims: Simulators, anonymous: httpx.Client, change: dict[str, object]
) -> None:
    response = anonymous.post(f"{sims.pricing.url}/_sim/config", json=change)

    assert_problem(response, 400)
    assert sims.pricing.state.knobs == Knobs()


def test_config_endpoint_rejects_a_body_that_is_not_an_object(
    sims: Simulators, anonymous: httpx.Client
) -> None:
    assert_problem(anonymous.post(f"{sims.pricing.url}/_sim/config", content=b"[1]"), 400)
    assert_problem(anonymous.post(f"{sims.pricing.url}/_sim/config", content=b"{"), 400)


def test_hang_outlasts_the_client_timeout(sims: Simulators, pricing: httpx.Client) -> None:
    sims.pricing.state.hang = True

    started = time.perf_counter()
    with pytest.raises(httpx.ReadTimeout):
        pricing.get("/v1/prices", params=SKUS, timeout=0.3)

    assert time.perf_counter() - started < 2
    # The server noticed the client leave and ended the call, though still hanging.
    deadline = time.monotonic() + 2
    while sims.pricing.state.in_flight and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sims.pricing.state.in_flight == 0
    assert sims.pricing.state.hang
    sims.pricing.state.hang = False
    assert pricing.get("/v1/prices", params=SKUS).status_code == 200


async def test_switching_hang_off_releases_waiting_calls(sims: Simulators) -> None:
    sims.crm.state.hang = True
    async with httpx.AsyncClient(
        base_url=sims.crm.url, headers={"X-Api-Key": CRM_API_KEY}, timeout=10
    ) as client:
        call = asyncio.create_task(client.get("/v1/accounts/C-000001/insights"))
        await asyncio.sleep(0.3)
        assert not call.done()

        sims.crm.state.hang = False
        response = await asyncio.wait_for(call, timeout=2)

    assert response.status_code == 200


def test_stopping_a_server_releases_a_hanging_call() -> None:
    state = SimulatorState("pricing")
    state.hang = True
    server = BackgroundServer(create_pricing_app(PRICING_TOKEN, state=state)).start()
    outcome: list[object] = []

    def call() -> None:
        # Waits longer than the stop may take: only the server can end this call.
        headers = {"Authorization": f"Bearer {PRICING_TOKEN}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=20) as client:
            try:
                outcome.append(client.get("/v1/prices", params=SKUS).status_code)
            except httpx.HTTPError as exc:
                outcome.append(type(exc))

    caller = threading.Thread(target=call)
    caller.start()
    deadline = time.monotonic() + 5
    while state.count("listPrices") == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert state.count("listPrices") == 1

    started = time.perf_counter()
    server.stop()
    caller.join(timeout=5)

    # Released at once, not cancelled after the 1 s graceful-shutdown backstop.
    assert time.perf_counter() - started < 0.9
    assert not caller.is_alive()
    assert outcome == [200]


def test_state_knob_validation_in_process() -> None:
    state = SimulatorState()

    with pytest.raises(ValueError, match="failure_rate"):
        state.failure_rate = 2
    with pytest.raises(ValueError, match="failure_status"):
        state.failure_status = 418
    with pytest.raises(ValueError, match="unknown knob"):
        state.configure(latncy=1)

    assert state.knobs == Knobs()
    state.configure(latency=0.1, jitter=0.05, failure_status=429)
    assert (state.latency, state.jitter, state.failure_status) == (0.1, 0.05, 429)


def test_jitter_is_seeded_and_bounded() -> None:
    knobs = Knobs(latency=0.1, jitter=0.05)

    state_a, state_b = SimulatorState(seed=7), SimulatorState(seed=7)
    delays_a = [state_a.draw_delay(knobs) for _ in range(50)]
    delays_b = [state_b.draw_delay(knobs) for _ in range(50)]

    assert delays_a == delays_b
    assert delays_a != [SimulatorState(seed=8).draw_delay(knobs) for _ in range(50)]
    assert all(0.1 <= delay <= 0.15 for delay in delays_a)
    assert len(set(delays_a)) > 40


def test_batch_log_is_bounded_but_counts_are_exact() -> None:
    state = SimulatorState(batch_log_size=3, recent_size=2)

    for i in range(5):
        state.record("listPrices", {"x-request-id": f"r{i}"}, [f"SKU-{i}"])

    assert state.count("listPrices") == 5
    assert state.batches("listPrices") == [["SKU-2"], ["SKU-3"], ["SKU-4"]]
    assert [r.request_id for r in state.recent()] == ["r3", "r4"]


async def test_peak_in_flight_shows_a_client_fan_out(sims: Simulators) -> None:
    sims.crm.state.latency = 0.2
    async with httpx.AsyncClient(
        base_url=sims.crm.url, headers={"X-Api-Key": CRM_API_KEY}
    ) as client:
        responses = await asyncio.gather(
            *(client.get(f"/v1/accounts/C-00000{i}/insights") for i in range(1, 6))
        )

    assert [r.status_code for r in responses] == [200] * 5
    assert sims.crm.state.peak_in_flight == 5
    assert sims.crm.state.in_flight == 0
    sims.crm.state.reset()
    assert sims.crm.state.peak_in_flight == 0
