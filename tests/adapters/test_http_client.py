"""HttpBackend's own HTTP behaviour, against raw loopback servers where no simulator can act.

The simulators honour their contracts; these servers do what a misconfigured
or hostile bolt-on might: redirect elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from adapters.errors import BackendUnavailable
from adapters.pricing import PricingAdapter
from tests.support.bolt_ons import resilience

TOKEN = "never-leaves-for-a-redirect"
#: An empty page of prices.
EMPTY = (
    b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{"items":[]}'
)


@contextlib.asynccontextmanager
async def raw_server(answer: bytes) -> AsyncIterator[tuple[str, list[bytes]]]:
    """A loopback server answering every request with ``answer``; its URL and the requests."""
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(answer)
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    host, port = server.sockets[0].getsockname()[:2]
    try:
        yield f"http://{host}:{port}", seen
    finally:
        server.close()
        await server.wait_closed()


async def test_a_redirect_is_not_followed_and_is_a_failure() -> None:
    async with raw_server(EMPTY) as (elsewhere, followed):
        redirect = (
            f"HTTP/1.1 307 Temporary Redirect\r\nLocation: {elsewhere}/v1/prices\r\n"
            "Content-Length: 0\r\nConnection: close\r\n\r\n"
        ).encode()
        async with (
            raw_server(redirect) as (url, asked),
            PricingAdapter(url, token=TOKEN, resilience=resilience("pricing")) as adapter,
        ):
            with pytest.raises(BackendUnavailable) as raised:
                await adapter.prices(["SKU-00001"])
    assert raised.value.reason == "HTTP 307"
    assert len(asked) == 1, "a 307 is not retried"
    assert f"Bearer {TOKEN}".encode() in asked[0]
    assert followed == [], "the credential must not follow a Location header"


async def test_a_base_url_path_is_kept_and_paths_are_appended() -> None:
    async with raw_server(EMPTY) as (url, asked):
        adapter = PricingAdapter(f"{url}/pricing/api/", token=TOKEN, resilience=resilience("p"))
        async with adapter:
            assert await adapter.prices(["SKU-00001", "a b/c"]) == [None, None]
    [request_line] = [request.split(b"\r\n")[0] for request in asked]
    assert request_line == (
        b"GET /pricing/api/v1/prices?sku=SKU-00001&sku=a+b/c&currency=USD HTTP/1.1"
    )
