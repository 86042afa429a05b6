"""Retries: idempotent reads on connect errors, 429 and 503; never an unkeyed POST."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from adapters.errors import BackendRejected, BackendUnavailable
from adapters.pricing import PricingAdapter
from adapters.resilience import RetryPolicy
from simulators.runner import Simulators
from tests.support.bolt_ons import CountingTransport, crm, pricing, resilience, shipping

EVENT = {
    "type": "customer.updated",
    "occurred_at": "2026-11-27T03:00:00Z",
    "data": {"account_number": "C-000001"},
}


async def test_a_read_is_retried_up_to_the_attempts_then_fails(sims: Simulators) -> None:
    sims.pricing.state.configure(failure_rate=1.0, failure_status=503)
    async with pricing(sims) as adapter:
        with pytest.raises(BackendUnavailable) as raised:
            await adapter.prices(["SKU-00001"])
    assert raised.value.status == 503
    assert sims.pricing.state.count("listPrices") == 3


async def test_a_read_that_recovers_is_answered(sims: Simulators) -> None:
    # Seeded: with this seed and rate the first call fails and a later one succeeds.
    sims.pricing.state.configure(failure_rate=0.5, failure_status=503, seed=3)
    policy = RetryPolicy(attempts=6, base_delay=0.001)
    async with pricing(sims, resilience("pricing", retry=policy)) as adapter:
        [price] = await adapter.prices(["SKU-00001"])
    assert price is not None
    assert sims.pricing.state.count("listPrices") > 1


async def test_retry_after_is_honoured(sims: Simulators) -> None:
    sims.pricing.state.configure(failure_rate=1.0, failure_status=429)  # Retry-After: 1
    policy = RetryPolicy(attempts=2, base_delay=0.001, max_retry_after=1.5)
    async with pricing(sims, resilience("pricing", retry=policy, total_timeout=5)) as adapter:
        started = time.perf_counter()
        with pytest.raises(BackendUnavailable):
            await adapter.prices(["SKU-00001"])
        elapsed = time.perf_counter() - started
    assert sims.pricing.state.count("listPrices") == 2
    assert elapsed >= 1.0, "the retry came before the server's Retry-After"


async def test_a_retry_after_beyond_the_cap_is_not_waited_for(sims: Simulators) -> None:
    sims.pricing.state.configure(failure_rate=1.0, failure_status=429)  # Retry-After: 1
    policy = RetryPolicy(attempts=3, base_delay=0.001, max_retry_after=0.5)
    async with pricing(sims, resilience("pricing", retry=policy)) as adapter:
        started = time.perf_counter()
        with pytest.raises(BackendUnavailable):
            await adapter.prices(["SKU-00001"])
        elapsed = time.perf_counter() - started
    assert sims.pricing.state.count("listPrices") == 1
    assert elapsed < 0.5


async def test_a_500_is_not_retried(sims: Simulators) -> None:
    sims.pricing.state.configure(failure_rate=1.0, failure_status=500)
    async with pricing(sims) as adapter:
        with pytest.raises(BackendUnavailable):
            await adapter.prices(["SKU-00001"])
    assert sims.pricing.state.count("listPrices") == 1


async def test_client_errors_are_not_retried(sims: Simulators) -> None:
    async with crm(sims) as adapter:
        assert await adapter.insights(["nobody"]) == [None]  # a 404
        with pytest.raises(BackendRejected):
            await adapter.activities("C-000001", limit=1000)  # a 400
    assert sims.crm.state.count("getAccountInsights") == 1
    assert sims.crm.state.count("listAccountActivities") == 1


async def test_create_quote_is_never_retried(sims: Simulators) -> None:
    # A POST without an Idempotency-Key: a retry could price (and reserve) twice.
    sims.pricing.state.configure(failure_rate=1.0, failure_status=503)
    async with pricing(sims) as adapter:
        with pytest.raises(BackendUnavailable):
            await adapter.quote("C-000001", "USD", [("SKU-00001", 1)])
    assert sims.pricing.state.count("createQuote") == 1


async def test_create_shipment_with_its_idempotency_key_is_retried(sims: Simulators) -> None:
    sims.shipping.state.configure(failure_rate=1.0, failure_status=503)
    async with shipping(sims) as adapter:
        with pytest.raises(BackendUnavailable):
            await adapter.create_shipment(
                order_number="SO-900001",
                warehouse_code="WH-1",
                lines=[("SKU-00001", 1)],
                idempotency_key=uuid.uuid4().hex,
            )
    assert sims.shipping.state.count("createShipment") == 3
    keys = {r.idempotency_key for r in sims.shipping.state.recent("createShipment")}
    assert len(keys) == 1, "every attempt must carry the same Idempotency-Key"


async def test_receive_event_is_retried_as_it_is_idempotent_by_event_id(
    sims: Simulators,
) -> None:
    sims.crm.state.configure(failure_rate=1.0, failure_status=503)
    async with crm(sims) as adapter:
        with pytest.raises(BackendUnavailable):
            await adapter.send_event({"id": str(uuid.uuid4()), **EVENT})
    assert sims.crm.state.count("receiveEvent") == 3


def _refusing_url() -> str:
    # A port that was free a moment ago and has no listener: connections are refused.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@contextlib.asynccontextmanager
async def hanging_up_listener() -> AsyncIterator[tuple[str, list[int]]]:
    """A loopback server that reads each request and closes its connection unanswered.

    Yields its URL and a one-item list counting the connections it accepted:
    every attempt of a client opens one (nothing answered is kept alive).
    """
    accepted = [0]

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted[0] += 1
        # Read the request first: closing with unread bytes would send a reset
        # (a ClientOSError, not retried), not the clean close of a keep-alive race.
        await reader.readuntil(b"\r\n\r\n")
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    host, port = server.sockets[0].getsockname()[:2]
    try:
        yield f"http://{host}:{port}", accepted
    finally:
        server.close()
        await server.wait_closed()


async def test_a_connection_closed_unanswered_is_retried_for_a_read() -> None:
    async with (
        hanging_up_listener() as (url, accepted),
        PricingAdapter(url, token="t", resilience=resilience("pricing")) as adapter,
    ):
        with pytest.raises(BackendUnavailable) as raised:
            await adapter.prices(["SKU-00001"])
    assert raised.value.reason == "RemoteProtocolError"
    # aiohttp itself sends an idempotent request once more on a new connection when
    # the server hangs up (RFC 9112, 9.3.1: the keep-alive race); each of our three
    # attempts is such a pair.
    assert accepted[0] == 3 * 2


async def test_a_connection_closed_unanswered_is_not_retried_for_an_unkeyed_post() -> None:
    async with (
        hanging_up_listener() as (url, accepted),
        PricingAdapter(url, token="t", resilience=resilience("pricing")) as adapter,
    ):
        with pytest.raises(BackendUnavailable):
            await adapter.quote("C-000001", "USD", [("SKU-00001", 1)])
    assert accepted[0] == 1


async def test_a_refused_connection_is_a_retryable_connect_error() -> None:
    adapter = PricingAdapter(_refusing_url(), token="t", resilience=resilience("pricing"))
    async with adapter:
        with pytest.raises(BackendUnavailable) as raised:
            await adapter.prices(["SKU-00001"])
    assert raised.value.reason == "ConnectError"
    # Nothing listens, so the attempts cannot be counted there; the predicate that
    # let the three of the other tests happen says yes to this one too.
    assert adapter._retryable(raised.value)


async def test_connect_errors_over_an_httpx_transport_are_retried() -> None:
    transport = CountingTransport()
    refused = PricingAdapter(
        _refusing_url(), token="t", transport=transport, resilience=resilience("pricing")
    )
    async with refused:
        with pytest.raises(BackendUnavailable) as raised:
            await refused.prices(["SKU-00001"])
    assert raised.value.reason == "ConnectError"
    assert transport.sent == 3


async def test_connect_errors_of_an_unkeyed_post_over_an_httpx_transport_are_not_retried() -> None:
    transport = CountingTransport()
    refused = PricingAdapter(
        _refusing_url(), token="t", transport=transport, resilience=resilience("pricing")
    )
    async with refused:
        with pytest.raises(BackendUnavailable):
            await refused.quote("C-000001", "USD", [("SKU-00001", 1)])
    assert transport.sent == 1
