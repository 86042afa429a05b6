"""Subscriptions need a credential: in the upgrade headers or the connection_init payload."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
import websockets
from websockets.typing import Subprotocol

from simulators.runner import Simulators
from tests.support.gateway import AUTH_HEADERS, TEST_API_KEY, served_gateway, settings_for

SUBSCRIPTION = "subscription { orderEvents { orderNumber } }"


async def _first_message(
    url: str, headers: dict[str, str], payload: dict[str, str] | None = None
) -> dict[str, object]:
    async with websockets.connect(
        url, subprotocols=[Subprotocol("graphql-transport-ws")], additional_headers=headers
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": payload or {}}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert ack["type"] == "connection_ack"
        await ws.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}})
        )
        try:
            message: dict[str, object] = json.loads(await asyncio.wait_for(ws.recv(), 1))
        except TimeoutError:
            return {"type": "waiting"}  # subscribed: no event has happened yet
        return message


@pytest.fixture(scope="module")
def ws_url(sqlite_core: str, sims: Simulators) -> Iterator[str]:
    with served_gateway(settings_for(sqlite_core, sims)) as url:
        yield url.replace("http://", "ws://") + "/graphql"


async def test_a_connection_without_a_credential_is_closed_at_init(ws_url: str) -> None:
    for payload in ({}, {"Authorization": "Bearer not-a-key"}):
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await _first_message(ws_url, {}, payload)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4403


async def test_a_key_in_the_upgrade_headers_subscribes(ws_url: str) -> None:
    assert await _first_message(ws_url, AUTH_HEADERS) == {"type": "waiting"}


@pytest.mark.parametrize(
    "payload",
    [{"Authorization": f"Bearer {TEST_API_KEY}"}, {"X-Api-Key": TEST_API_KEY}],
)
async def test_a_key_in_connection_init_subscribes(ws_url: str, payload: dict[str, str]) -> None:
    # Browsers cannot set headers on a websocket upgrade: GraphiQL-style clients send it here.
    assert await _first_message(ws_url, {}, payload) == {"type": "waiting"}
