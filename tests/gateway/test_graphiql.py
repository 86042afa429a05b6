"""GraphiQL of the real gateway, in headless Chromium, with no internet."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from gateway.app import create_app
from simulators.runner import BackgroundServer, Simulators
from tests.e2e.browser import Chromium, chromium_available, run_query_in_graphiql
from tests.gateway.support import TEST_API_KEY, settings_for

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
