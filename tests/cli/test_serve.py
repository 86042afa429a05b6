"""The real ``gateway serve``: graceful SIGTERM, and metrics across two worker processes."""

from __future__ import annotations

import gc
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from simulators.runner import Simulators
from tests.support.cli import free_port, gateway_env, start_server, stop, wait_healthy
from tests.support.gateway import (
    AUTH_HEADERS,
    PRICED_QUERY,
    client_config,
    running_gateway,
    settings_for,
)
from tests.support.metrics import sample, series


@pytest.fixture
def serve_env(sqlite_core: str, sims: Simulators) -> dict[str, str]:
    return gateway_env(
        sqlite_core,
        sims,
        GATEWAY_CLIENTS=orjson.dumps([client_config()]).decode(),
        GATEWAY_SHUTDOWN_GRACE_SECONDS="10",
        # No drain delay: these tests look at what follows it (tests/ops/test_drain.py: the delay).
        GATEWAY_SHUTDOWN_DRAIN_DELAY_SECONDS="0",
        GATEWAY_PRICING_TIMEOUT="5",
    )


def post(url: str, query: str, *, timeout: float = 10) -> httpx.Response:
    # A new connection per request, so the kernel spreads them over the workers.
    return httpx.post(
        f"{url}/graphql", json={"query": query}, headers=AUTH_HEADERS, timeout=timeout
    )


def test_sigterm_loses_no_in_flight_request(
    serve_env: dict[str, str], sims: Simulators, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    process = start_server(serve_env, "--port", str(port), log=log)
    try:
        wait_healthy(url, process, log)
        sims.pricing.state.configure(latency=1.5)
        answer: dict[str, Any] = {}

        def call() -> None:
            answer["response"] = post(url, PRICED_QUERY)

        caller = threading.Thread(target=call)
        caller.start()
        deadline = time.monotonic() + 10
        while sims.pricing.state.in_flight < 1:
            assert time.monotonic() < deadline, "the request never reached Pricing"
            time.sleep(0.01)
        sent_at = time.monotonic()
        process.send_signal(signal.SIGTERM)
        caller.join(15)
        status = process.wait(15)
    finally:
        stop(process)

    response = answer["response"]
    assert response.status_code == 200, log.read_text()
    body = response.json()
    assert "errors" not in body, body
    assert body["data"]["product"]["price"]["listPrice"]
    assert status == 0, log.read_text()
    # It waited for the request rather than the whole grace period.
    assert time.monotonic() - sent_at < 8
    # ... and new connections are refused once it drains.
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/healthz", timeout=1)


async def test_sigterm_turns_readiness_off_first(sqlite_core: str, sims: Simulators) -> None:
    """In-process, no delay: the app's handler runs before the server's (here, a recorder)."""
    seen: list[int] = []

    def server_handler(sig: int, frame: object) -> None:
        seen.append(sig)

    previous = signal.signal(signal.SIGTERM, server_handler)
    try:
        settings = settings_for(sqlite_core, sims, shutdown_drain_delay_seconds=0)
        async with running_gateway(settings) as gateway:
            assert (await gateway.client.get("/readyz")).status_code == 200
            os.kill(os.getpid(), signal.SIGTERM)
            assert seen == [signal.SIGTERM]  # the server still gets the signal
            ready = await gateway.client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["draining"] is True
        # The lifespan gave the server its own handler back.
        assert signal.getsignal(signal.SIGTERM) is server_handler
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.fixture
def two_workers(serve_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    process = start_server(serve_env, "--port", str(port), "--workers", "2", log=log)
    try:
        wait_healthy(url, process, log)
        # Both workers up: each publishes itself in gateway_worker_up.
        deadline = time.monotonic() + 20
        while len(series(httpx.get(f"{url}/metrics").text, "gateway_worker_up")) < 2:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield url
    finally:
        assert stop(process) == 0, log.read_text()


def test_two_workers_count_every_request(two_workers: str) -> None:
    url = two_workers
    requests = 40
    for _ in range(requests):
        response = post(url, "query OpsWorkers { warehouses { code } }")
        assert response.status_code == 200
        assert "errors" not in response.json()
    # Whichever worker answers the scrape, it reports every worker's requests.
    for _ in range(6):
        text = httpx.get(f"{url}/metrics").text
        assert (
            sample(text, "gateway_requests_total", operation="OpsWorkers", outcome="ok") == requests
        )
        assert (
            sample(text, "gateway_request_duration_seconds_count", operation="OpsWorkers")
            == requests
        )
        assert len({labels["pid"] for labels in series(text, "gateway_worker_up")}) == 2


async def test_a_running_gateway_keeps_its_start_up_heap_out_of_the_collector(
    sqlite_core: str, sims: Simulators
) -> None:
    async with running_gateway(settings_for(sqlite_core, sims, gc_gen0_threshold=9_000)):
        frozen_while_running = gc.get_freeze_count()
        threshold_while_running = gc.get_threshold()[0]
    assert frozen_while_running > 10_000
    assert threshold_while_running == 9_000
    assert gc.get_freeze_count() == 0, "handed back when the app stops"
