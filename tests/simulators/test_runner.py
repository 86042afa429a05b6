"""The runner: sockets, background servers, and serving several apps in one loop."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import FrameType

import httpx
import pytest
from starlette.applications import Starlette

from simulators.common import SimulatorState
from simulators.pricing import create_pricing_app
from simulators.runner import BackgroundServer, Simulators, bind_socket, url_of


def _simulators() -> Simulators:
    return Simulators(secrets={"pricing": "p", "crm": "c", "shipping": "s"})


def test_bind_socket_is_a_listening_tcp_socket() -> None:
    with bind_socket() as sock:
        host, port = sock.getsockname()
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.type == socket.SOCK_STREAM
        assert host == "127.0.0.1"
        assert port > 0
        assert url_of(sock) == f"http://127.0.0.1:{port}"
        # Listening already: a client can connect before any server runs.
        with socket.create_connection((host, port), timeout=1):
            pass


async def _nodelay_of_accepted(sock: socket.socket) -> int:
    loop = asyncio.get_running_loop()
    result: asyncio.Future[int] = loop.create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted = transport.get_extra_info("socket")
            result.set_result(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    server = await loop.create_server(Probe, sock=sock)
    _, writer = await asyncio.open_connection(*sock.getsockname()[:2])
    try:
        return await asyncio.wait_for(result, 2)
    finally:
        writer.close()
        server.close()
        await server.wait_closed()


async def test_accepted_connections_get_tcp_nodelay() -> None:
    # The pitfall bind_socket avoids: asyncio sets TCP_NODELAY only for proto IPPROTO_TCP.
    plain = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    plain.bind(("127.0.0.1", 0))

    assert await _nodelay_of_accepted(bind_socket()) != 0
    assert await _nodelay_of_accepted(plain) == 0


def test_background_server_serves_until_stopped() -> None:
    state = SimulatorState("pricing")
    server = BackgroundServer(create_pricing_app("t", state=state))

    with server, httpx.Client(base_url=server.url) as client:
        response = client.get(
            "/v1/prices", params={"sku": "SKU-00001"}, headers={"Authorization": "Bearer t"}
        )
        assert response.status_code == 200
        assert state.count("listPrices") == 1

    assert server.sock.fileno() == -1
    with httpx.Client(base_url=server.url) as client, pytest.raises(httpx.ConnectError):
        client.get("/_sim/stats")


def test_background_server_cannot_start_twice() -> None:
    with BackgroundServer(create_pricing_app("t")) as server, pytest.raises(RuntimeError):
        server.start()


def test_background_server_reports_a_failed_startup() -> None:
    @asynccontextmanager
    async def broken(app: Starlette) -> AsyncIterator[None]:
        raise RuntimeError("no database")
        yield  # pragma: no cover

    server = BackgroundServer(Starlette(lifespan=broken), lifespan="on")

    with pytest.raises(RuntimeError, match="failed to start"):
        server.start()
    server.stop()
    assert server.sock.fileno() == -1


def test_simulators_in_threads_answer_on_their_own_ports() -> None:
    with (
        Simulators.start_in_thread(
            secrets={"pricing": "p", "crm": "c", "shipping": "s"}, seeded_orders=10
        ) as sims,
        httpx.Client() as client,
    ):
        urls = {sims.pricing.url, sims.crm.url, sims.shipping.url}
        assert len(urls) == 3
        prices = client.get(
            f"{sims.pricing.url}/v1/prices",
            params={"sku": "SKU-00001"},
            headers={"Authorization": "Bearer p"},
        )
        insights = client.get(
            f"{sims.crm.url}/v1/accounts/C-000001/insights", headers={"X-Api-Key": "c"}
        )
        shipments = client.get(
            f"{sims.shipping.url}/v1/shipments",
            params={"order_number": "SO-000001"},
            headers={"Authorization": "Bearer s"},
        )
        assert [prices.status_code, insights.status_code, shipments.status_code] == [200] * 3
        assert sims.pricing.state.count("listPrices") == 1
        assert sims.crm.state.count("getAccountInsights") == 1
        assert sims.shipping.state.count("listShipments") == 1


async def test_simulators_serve_in_the_running_loop_until_stopped() -> None:
    sims = _simulators()
    stop, started = asyncio.Event(), asyncio.Event()
    serving = asyncio.create_task(sims.serve(stop=stop, started=started, handle_signals=False))

    await asyncio.wait_for(started.wait(), 5)
    async with httpx.AsyncClient(headers={"X-Api-Key": "c"}) as client:
        response = await client.get(f"{sims.crm.url}/v1/accounts/C-000001/activities")
    stop.set()
    await asyncio.wait_for(serving, 5)

    assert response.status_code == 200
    assert sims.crm.state.count("listAccountActivities") == 1
    assert all(served.sock.fileno() == -1 for served in sims.all)


async def test_serving_in_the_loop_stops_on_sigterm() -> None:
    received: list[int] = []

    def host_handler(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    original = signal.signal(signal.SIGTERM, host_handler)
    try:
        sims = _simulators()
        started = asyncio.Event()
        serving = asyncio.create_task(sims.serve(started=started))
        await asyncio.wait_for(started.wait(), 5)

        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(serving, 5)

        # The loop's handler took the signal, then the host's handler came back.
        assert received == []
        assert signal.getsignal(signal.SIGTERM) is host_handler
    finally:
        signal.signal(signal.SIGTERM, original)
