"""orderEvents over graphql-transport-ws, on a uvicorn-served gateway; across two via Redis."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
import pytest
import websockets
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.settings import Settings
from simulators import world
from simulators.runner import BackgroundServer, Simulators
from tests.support.gateway import AUTH_HEADERS
from tests.support.mutations import CREATE_ORDER, PLACE_ORDER, SHIP_ORDER
from tests.writes.support import active_skus, mutation_settings, outbox_rows

SUBSCRIPTION = """
subscription($n: String) {
  orderEvents(orderNumber: $n) { id type orderNumber status order { orderNumber status } }
}"""


@contextmanager
def served(settings: Settings) -> Iterator[tuple[Starlette, str]]:
    app = create_app(settings)
    with BackgroundServer(app) as server:
        yield app, server.url


async def graphql(url: str, document: str, input: dict[str, Any]) -> Any:
    async with httpx.AsyncClient(base_url=url, headers=AUTH_HEADERS) as client:
        response = await client.post(
            "/graphql", json={"query": document, "variables": {"input": input}}
        )
    body = response.json()
    assert "errors" not in body, body
    [payload] = body["data"].values()
    assert payload["userErrors"] == [], payload
    return payload


async def new_order(url: str, core_url: str) -> str:
    [sku] = [s for s in await active_skus(core_url) if world.has_price(s)][:1]
    payload = await graphql(
        url,
        CREATE_ORDER,
        {"accountNumber": "C-000011", "currency": "USD", "lines": [{"sku": sku, "quantity": 1}]},
    )
    number: str = payload["order"]["orderNumber"]
    return number


async def wait_for_subscribers(app: Starlette, count: int = 1) -> None:
    deadline = time.monotonic() + 5
    while app.state.writes.bus.subscribers < count:
        assert time.monotonic() < deadline, "the subscription never reached the event bus"
        await asyncio.sleep(0.01)


async def subscribe(ws: Any, order_number: str | None) -> None:
    await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
    ack = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert ack["type"] == "connection_ack"
    await ws.send(
        json.dumps(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": SUBSCRIPTION, "variables": {"n": order_number}},
            }
        )
    )


async def next_event(ws: Any) -> dict[str, Any]:
    message = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert message["type"] == "next", message
    assert "errors" not in message["payload"], message
    event: dict[str, Any] = message["payload"]["data"]["orderEvents"]
    return event


def ws_url(url: str) -> str:
    return url.replace("http://", "ws://") + "/graphql"


async def test_a_subscriber_sees_committed_order_events(core_url: str, sims: Simulators) -> None:
    with served(mutation_settings(core_url, sims)) as (app, url):
        ours = await new_order(url, core_url)
        other = await new_order(url, core_url)
        async with websockets.connect(
            ws_url(url), subprotocols=["graphql-transport-ws"], additional_headers=AUTH_HEADERS
        ) as ws:
            await subscribe(ws, ours)
            await wait_for_subscribers(app)

            await graphql(url, PLACE_ORDER, {"orderNumber": other, "warehouseCode": "WH-EU1"})
            await graphql(url, PLACE_ORDER, {"orderNumber": ours, "warehouseCode": "WH-EU1"})
            placed = await next_event(ws)
            await graphql(url, SHIP_ORDER, {"orderNumber": ours})
            shipped = await next_event(ws)

    # Only our order's events, each after its commit: the order reads back in that state.
    assert placed["type"] == "ORDER_PLACED"
    assert placed["orderNumber"] == ours
    assert placed["order"] == {"orderNumber": ours, "status": "PLACED"}
    assert shipped["type"] == "ORDER_SHIPPED"
    assert shipped["order"]["status"] == "SHIPPED"
    # The live event and the outbox's (the CRM's) are one event: same id.
    outbox_ids = {row.id for row in await outbox_rows(core_url) if row.entity_key == ours}
    assert {placed["id"], shipped["id"]} <= outbox_ids


@pytest.mark.redis
async def test_events_cross_instances_through_redis(
    core_url: str, sims: Simulators, redis_url: str
) -> None:
    channel = f"test-events-{uuid.uuid4().hex}"
    settings = mutation_settings(core_url, sims, redis_url=redis_url, events_channel=channel)
    with ExitStack() as stack:
        app_a, url_a = stack.enter_context(served(settings))
        _, url_b = stack.enter_context(served(settings))
        number = await new_order(url_b, core_url)
        async with websockets.connect(
            ws_url(url_a), subprotocols=["graphql-transport-ws"], additional_headers=AUTH_HEADERS
        ) as ws:
            await subscribe(ws, None)
            await wait_for_subscribers(app_a)

            # Committed through instance B, seen by a subscriber of instance A.
            await graphql(url_b, PLACE_ORDER, {"orderNumber": number, "warehouseCode": "WH-US1"})
            event = await next_event(ws)

    assert event["type"] == "ORDER_PLACED"
    assert event["orderNumber"] == number
    assert event["order"]["status"] == "PLACED"
