"""Fuzz the served schema: generated queries never get a 5xx or an unmasked error.

Queries only: the fuzzed gateway reads the session's shared seeded core,
which must not be written to. Bounded: 200 examples, no deadline.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis_graphql import queries

from schema import build_schema
from simulators.runner import Simulators
from tests.support.gateway import AUTH_HEADERS, served_gateway, settings_for

#: The codes a client may legitimately see; anything else would be a leak or a bug.
EXPECTED_CODES = {
    None,  # parse and validation errors carry no code
    "BAD_USER_INPUT",
    "FORBIDDEN",
    "QUERY_TOO_COSTLY",
    "UPSTREAM_UNAVAILABLE",
    "UPSTREAM_TIMEOUT",
    "UPSTREAM_REJECTED",
    "BAD_REQUEST",
}


@pytest.fixture(scope="module")
def served(sqlite_core: str, sims: Simulators) -> Iterator[httpx.Client]:
    # A budget no fuzz run can exhaust: this test is about errors, not rate limits.
    settings = settings_for(sqlite_core, sims, rate_limit_burst=10**9)
    with (
        served_gateway(settings) as url,
        httpx.Client(base_url=url, headers=AUTH_HEADERS, timeout=30) as client,
    ):
        yield client


SDL = build_schema().as_str()


def test_fuzzed_queries_get_no_5xx_and_no_unmasked_error(served: httpx.Client) -> None:
    seen: dict[str, int] = {}

    @settings(
        max_examples=200,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(query=queries(SDL))
    def run(query: str) -> None:
        response = served.post("/graphql", json={"query": query})
        assert response.status_code < 500, (query, response.text)
        body = response.json()
        for error in body.get("errors", []):
            code = (error.get("extensions") or {}).get("code")
            seen[str(code)] = seen.get(str(code), 0) + 1
            assert code in EXPECTED_CODES, (query, error)
            assert error["message"] != "Internal server error", (query, error)

    run()
    print(f"fuzz error codes seen: {seen}")
