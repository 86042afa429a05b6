"""GraphiQL of the real gateway, in headless Chromium, with no internet."""

from __future__ import annotations

import pytest

from gateway.app import create_app
from simulators.runner import BackgroundServer, Simulators
from tests.e2e.browser import chromium_available, run_query_in_graphiql
from tests.gateway.support import settings_for

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not chromium_available(), reason="Debian's chromium is not installed"),
]


def test_graphiql_runs_the_joined_query(sqlite_core: str, sims: Simulators) -> None:
    app = create_app(settings_for(sqlite_core, sims))
    with BackgroundServer(app) as server:
        text = run_query_in_graphiql(
            f"{server.url}/graphql",
            '{ customer(accountNumber: "C-000001") { accountNumber insights { healthScore } } }',
            contains="healthScore",
        )
    assert '"accountNumber": "C-000001"' in text
