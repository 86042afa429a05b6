"""GraphiQL of the real gateway, in headless Chromium, with no internet."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from adapters.core import CoreAdapter
from gateway.app import create_app
from simulators.runner import BackgroundServer, Simulators
from tests.support.browser import Chromium, chromium_available, run_query_in_graphiql
from tests.support.core import SeededCores
from tests.support.gateway import AUTH_HEADERS, TEST_API_KEY, settings_for

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not chromium_available(), reason="Debian's chromium is not installed"),
]


def test_graphiql_runs_the_joined_query(sqlite_core: str, sims: Simulators) -> None:
    # The page's own requests carry no key here: let anonymous callers read (development only).
    settings = settings_for(sqlite_core, sims, anonymous_scopes=["core:read", "insights:read"])
    app = create_app(settings)
    with BackgroundServer(app) as server:
        text = run_query_in_graphiql(
            f"{server.url}/graphql",
            '{ customer(accountNumber: "C-000001") { accountNumber insights { healthScore } } }',
            contains="healthScore",
        )
    assert '"accountNumber": "C-000001"' in text


def test_demo_link_runs_the_default_query_with_its_key(sqlite_core: str, sims: Simulators) -> None:
    """What `gateway demo` prints: a link whose Headers tab already holds the key."""
    app = create_app(settings_for(sqlite_core, sims))
    headers = json.dumps({"Authorization": f"Bearer {TEST_API_KEY}"})
    link = f"/graphql?headers={quote(headers, safe='')}"
    with (
        BackgroundServer(app) as server,
        Chromium() as chrome,
        chrome.open(server.url + link) as page,
    ):
        page.wait_for_graphiql()
        page.click(".graphiql-execute-button")
        text = page.graphiql_response(contains="listPrice")
        assert not page.off_machine_requests()
    result = json.loads(text)
    assert "errors" not in result
    customers = result["data"]["customers"]["edges"]
    assert len(customers) == 5
    assert customers[0]["node"]["insights"]["healthScore"] >= 0
    lines = [
        line
        for customer in customers
        for order in customer["node"]["orders"]["edges"]
        for line in order["node"]["lines"]
    ]
    assert any(line["product"]["price"] for line in lines)


async def test_graphiql_subscription_carries_the_headers_tab_key(
    cores: SeededCores, tmp_path: Path, sims: Simulators
) -> None:
    """A browser cannot set headers on a websocket: the page sends them in connection_init."""
    core_url = await cores.sqlite(tmp_path)  # it cancels an order: a core of its own
    async with CoreAdapter(core_url) as core:
        placed = await core.list_orders(first=1, after=None, status="placed", customer_id=None)
    number = placed.items[0].order_number
    app = create_app(settings_for(core_url, sims))
    headers = json.dumps({"Authorization": f"Bearer {TEST_API_KEY}"})
    link = f"/graphql?headers={quote(headers, safe='')}"
    with (
        BackgroundServer(app) as server,
        Chromium() as chrome,
        chrome.open(server.url + link) as page,
    ):
        page.wait_for_graphiql()
        page.set_graphiql_query("subscription { orderEvents { type orderNumber status } }")
        page.click(".graphiql-execute-button")
        ws_url = server.url.replace("http", "ws", 1) + "/graphql"
        for _ in range(100):  # until the page opened its websocket
            if ws_url in page.requested_urls():
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # connection_init, ack and subscribe
        async with httpx.AsyncClient(base_url=server.url, headers=AUTH_HEADERS) as client:
            body = (
                await client.post(
                    "/graphql",
                    json={
                        "query": "mutation($n: String!) { cancelOrder(input: {orderNumber: $n})"
                        " { order { status } userErrors { code } } }",
                        "variables": {"n": number},
                    },
                )
            ).json()
        assert body["data"]["cancelOrder"]["userErrors"] == []
        text = page.graphiql_response(contains=number)
    event = json.loads(text)["data"]["orderEvents"]
    assert event == {"type": "ORDER_CANCELLED", "orderNumber": number, "status": "CANCELLED"}
