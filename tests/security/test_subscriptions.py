"""Subscriptions go through the same permission layer: no key, no event stream."""

from __future__ import annotations

import asyncio
import json

import websockets
from websockets.typing import Subprotocol

from gateway.app import create_app
from simulators.runner import BackgroundServer, Simulators
from tests.gateway.support import AUTH_HEADERS, settings_for

SUBSCRIPTION = "subscription { orderEvents { orderNumber } }"


async def _first_message(url: str, headers: dict[str, str]) -> dict[str, object]:
    async with websockets.connect(
        url, subprotocols=[Subprotocol("graphql-transport-ws")], additional_headers=headers
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
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


async def test_subscription_needs_a_key(sqlite_core: str, sims: Simulators) -> None:
    app = create_app(settings_for(sqlite_core, sims))
    with BackgroundServer(app) as server:
        url = server.url.replace("http://", "ws://") + "/graphql"
        refused = await _first_message(url, {})
        allowed = await _first_message(url, AUTH_HEADERS)
    assert refused["type"] in {"next", "error"}, refused
    assert "FORBIDDEN" in json.dumps(refused)
    assert allowed == {"type": "waiting"}
