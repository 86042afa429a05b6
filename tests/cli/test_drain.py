"""The drain delay: after SIGTERM the instance keeps serving while it announces it is leaving."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from simulators.runner import Simulators
from tests.support.cli import free_port, gateway_env, start_server, stop, wait_healthy
from tests.support.gateway import AUTH_HEADERS, client_config, running_gateway, settings_for

QUERY = "query OpsDrain { warehouses { code } }"
#: Long enough for the checks below on a busy two-core machine (a fresh /readyz can take 0.5 s).
DELAY = 5.0


@pytest.fixture
def drain_env(sqlite_core: str, sims: Simulators) -> dict[str, str]:
    return gateway_env(
        sqlite_core,
        sims,
        GATEWAY_CLIENTS=orjson.dumps([client_config()]).decode(),
        GATEWAY_SHUTDOWN_GRACE_SECONDS="10",
        GATEWAY_SHUTDOWN_DRAIN_DELAY_SECONDS=str(DELAY),
    )


def serve(env: dict[str, str], tmp_path: Path, *args: str) -> Iterator[tuple[str, Any, Path]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    process = start_server(env, "--port", str(port), *args, log=log)
    try:
        wait_healthy(url, process, log, timeout=90)
        yield url, process, log
    finally:
        stop(process)


@pytest.fixture
def one_worker(drain_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, Any, Path]]:
    yield from serve(drain_env, tmp_path)


@pytest.fixture
def two_workers(drain_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, Any, Path]]:
    yield from serve(drain_env, tmp_path, "--workers", "2")


def fresh(method: str, url: str, **kw: Any) -> httpx.Response:
    """A request on a connection of its own, as a load balancer's health check opens."""
    with httpx.Client(timeout=5) as client:
        return client.request(method, url, **kw)


def test_a_draining_instance_keeps_serving_and_says_so_on_new_connections(
    one_worker: tuple[str, Any, Path],
) -> None:
    url, process, log = one_worker
    with httpx.Client(timeout=5, headers=AUTH_HEADERS) as kept:
        before = kept.post(f"{url}/graphql", json={"query": QUERY})
        assert before.status_code == 200
        assert before.headers.get("connection") != "close"

        process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        time.sleep(0.2)  # the signal is handled between two bytecodes, not at once

        ready = fresh("GET", f"{url}/readyz")
        assert ready.status_code == 503, ready.text
        assert ready.json()["draining"] is True
        served = fresh("POST", f"{url}/graphql", json={"query": QUERY}, headers=AUTH_HEADERS)
        assert served.status_code == 200
        assert "errors" not in served.json()
        assert served.headers["connection"] == "close"
        # The connection opened before the signal carries one more request, then closes.
        again = kept.post(f"{url}/graphql", json={"query": QUERY})
        assert again.status_code == 200
        assert again.headers["connection"] == "close"
        assert time.monotonic() - signalled < DELAY, "the checks took longer than the delay"
        assert process.poll() is None

    status = process.wait(DELAY + 10)
    stopped_after = time.monotonic() - signalled
    assert status == 0, log.read_text()
    # After the delay, not after the grace period (10 s) too: nothing was in flight.
    assert DELAY - 0.3 <= stopped_after < DELAY + 9, stopped_after
    with pytest.raises(httpx.ConnectError):
        fresh("GET", f"{url}/healthz")
    assert "draining" in log.read_text()


def test_every_worker_drains_when_the_supervisor_gets_sigterm(
    two_workers: tuple[str, Any, Path],
) -> None:
    url, process, log = two_workers
    process.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    # uvicorn's supervisor looks at its signals every 0.5 s, then relays SIGTERM to the workers.
    time.sleep(0.9)
    # New connections land on either worker: all of them answer, none says ready.
    statuses = [fresh("GET", f"{url}/readyz").status_code for _ in range(6)]
    healthy = [fresh("GET", f"{url}/healthz").status_code for _ in range(2)]
    assert time.monotonic() - signalled < DELAY, "the checks took longer than the delay"
    assert statuses == [503] * 6
    assert healthy == [200] * 2
    assert process.wait(DELAY + 15) == 0, log.read_text()
    assert time.monotonic() - signalled >= DELAY - 0.3


def test_a_second_sigterm_ends_the_delay(drain_env: dict[str, str], tmp_path: Path) -> None:
    env = {**drain_env, "GATEWAY_SHUTDOWN_DRAIN_DELAY_SECONDS": "60"}
    for url, process, log in serve(env, tmp_path):
        process.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        assert fresh("GET", f"{url}/readyz").status_code == 503
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0, log.read_text()
        assert time.monotonic() - signalled < 10


class Recorder:
    """Stands in for the server's signal handler."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    def __call__(self, sig: int, frame: object) -> None:
        self.seen.append(sig)


async def test_sigterm_reaches_the_server_only_after_the_delay(
    sqlite_core: str, sims: Simulators
) -> None:
    recorder = Recorder()
    previous = signal.signal(signal.SIGTERM, recorder)
    try:
        settings = settings_for(sqlite_core, sims, shutdown_drain_delay_seconds=0.5)
        async with running_gateway(settings) as gateway:
            idle = await gateway.client.post("/graphql", json={"query": QUERY})
            assert "connection" not in idle.headers
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.sleep(0.05)
            assert recorder.seen == []  # still serving
            ready = await gateway.client.get("/readyz")
            assert ready.status_code == 503
            served = await gateway.client.post("/graphql", json={"query": QUERY})
            assert served.status_code == 200
            assert served.headers["connection"] == "close"
            await asyncio.sleep(0.7)
            assert recorder.seen == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)


async def test_sigint_skips_the_delay(sqlite_core: str, sims: Simulators) -> None:
    recorder = Recorder()
    previous = signal.signal(signal.SIGINT, recorder)
    try:
        settings = settings_for(sqlite_core, sims, shutdown_drain_delay_seconds=30)
        async with running_gateway(settings) as gateway:
            os.kill(os.getpid(), signal.SIGINT)
            assert recorder.seen == [signal.SIGINT]
            assert (await gateway.client.get("/readyz")).status_code == 503
    finally:
        signal.signal(signal.SIGINT, previous)
