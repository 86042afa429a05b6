"""Both websocket subprotocols on ``/graphql``, and why a connection is refused.

graphql-transport-ws (graphql-ws, Apollo's GraphQLWsLink, urql, GraphiQL)
and the legacy graphql-ws of subscriptions-transport-ws. The credential may
come in the shapes the common clients put in ``connection_init``; a refusal
is close code 4403 with a reason that says what was wrong.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from websockets.typing import Subprotocol

from tests.support.gateway import TEST_API_KEY

#: The whole reason: a close frame holds 123 bytes, a longer one would be cut.
REQUIRED = (
    'authentication required: send {"Authorization": "Bearer <key>"} in connection_init '
    "or the upgrade's headers"
)
QUERY = '{ product(sku: "SKU-00001") { sku } }'


@pytest.fixture(scope="module")
def ws_url(http: httpx.Client) -> str:
    return str(http.base_url).replace("http://", "ws://").rstrip("/") + "/graphql"


async def _receive(ws: Any) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
    return message


@pytest.mark.parametrize(
    "payload",
    [
        {"Authorization": f"Bearer {TEST_API_KEY}"},
        {"authorization": f"Bearer {TEST_API_KEY}"},
        {"X-Api-Key": TEST_API_KEY},
        {"headers": {"Authorization": f"Bearer {TEST_API_KEY}"}},
        {"headers": {"x-api-key": TEST_API_KEY}},
        {"authToken": TEST_API_KEY},
        {"authToken": f"Bearer {TEST_API_KEY}"},
    ],
    ids=[
        "Authorization",
        "lowercase",
        "X-Api-Key",
        "headers",
        "headers-key",
        "authToken",
        "bearer",
    ],
)
async def test_graphql_transport_ws_accepts_the_common_payloads(
    ws_url: str, payload: dict[str, Any]
) -> None:
    async with websockets.connect(ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        assert (await _receive(ws))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "q", "type": "subscribe", "payload": {"query": QUERY}}))
        answer = await _receive(ws)
        assert answer == {
            "id": "q",
            "type": "next",
            "payload": {"data": {"product": {"sku": "SKU-00001"}}},
        }
        assert (await _receive(ws)) == {"id": "q", "type": "complete"}


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({}, REQUIRED),
        ({"Authorization": "Bearer gwk_not-a-key"}, "the API key is not valid"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "use 'Bearer <key or token>'"),
        ({"authToken": "a.b.c"}, "not a valid JWT"),
    ],
)
@pytest.mark.parametrize("subprotocol", ["graphql-transport-ws", "graphql-ws"])
async def test_a_refused_connection_says_why(
    ws_url: str, subprotocol: str, payload: dict[str, Any], reason: str
) -> None:
    async with websockets.connect(ws_url, subprotocols=[Subprotocol(subprotocol)]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        if subprotocol == "graphql-ws":
            # The legacy protocol's own refusal message comes first.
            error = await _receive(ws)
            assert error["type"] == "connection_error"
            assert reason in error["payload"]["message"]
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await _receive(ws)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403
    assert reason in closed.value.rcvd.reason


async def test_the_legacy_graphql_ws_protocol_serves_queries(ws_url: str) -> None:
    async with websockets.connect(ws_url, subprotocols=[Subprotocol("graphql-ws")]) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"authToken": TEST_API_KEY}})
        )
        assert (await _receive(ws))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "start", "payload": {"query": QUERY}}))
        messages = [await _receive(ws)]
        while messages[-1]["type"] == "ka":
            messages = [await _receive(ws)]
        messages.append(await _receive(ws))
    assert messages == [
        {"type": "data", "id": "1", "payload": {"data": {"product": {"sku": "SKU-00001"}}}},
        {"type": "complete", "id": "1"},
    ]


async def test_upgrade_headers_authenticate_server_clients(ws_url: str) -> None:
    async with websockets.connect(
        ws_url,
        subprotocols=[Subprotocol("graphql-transport-ws")],
        additional_headers={"Authorization": f"Bearer {TEST_API_KEY}"},
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        assert (await _receive(ws))["type"] == "connection_ack"
