"""Hostile documents through a served gateway: refused fast, with a code, never a 500.

One ``gateway serve`` process for the module (SQLite core, the simulators);
every request goes over loopback HTTP, as an attacker's would. The timing
bounds are generous regression guards (the machine is shared and loaded):
a refusal takes milliseconds, the defect it guards against took seconds
to minutes of CPU.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from simulators.runner import Simulators
from tests.support.gateway import AUTH_HEADERS
from tests.support.served import ServedGateway, served_env, served_gateway

GRAPHQL_RESPONSE = "application/graphql-response+json"
LEGACY_JSON = "application/json"

#: Seconds a refusal may take here; the defects took 5.5 s (nine levels) to 48 s (ten).
REFUSAL_BOUND = 1.5


def fragment_bomb(levels: int, fan_out: int = 5) -> str:
    """Each fragment spreads the next ``fan_out`` times: ``fan_out ** levels`` landings."""
    fragments = [
        f"fragment F{i} on Customer {{ " + " ".join([f"...F{i + 1}"] * fan_out) + " }"
        for i in range(levels)
    ]
    fragments.append(f"fragment F{levels} on Customer {{ name email segment }}")
    return "{ customers(first: 100) { edges { node { ...F0 } } } } " + " ".join(fragments)


def repeated_fields(copies: int) -> str:
    """The same nested field ``copies`` times: validation compares every pair, level by level."""
    field = "orders(first: 1) { edges { node { orderNumber } } } "
    return "{ customers(first: 1) { edges { node { " + field * copies + "} } } }"


DEEP = (
    "{ customers { edges { node { "
    + "orders { edges { node { customer { " * 4
    + "name"
    + " } } } }" * 4
    + " } } } }"
)

#: (name, document, operationName, code) of every request-level refusal of a document.
REFUSALS = [
    ("nine-level bomb", fragment_bomb(9), None, "TOO_MANY_FRAGMENT_SPREADS"),
    ("ten-level bomb", fragment_bomb(10), None, "TOO_MANY_FRAGMENT_SPREADS"),
    ("repeated fields", repeated_fields(120), None, "TOO_MANY_FIELD_MERGES"),
    (
        "repeated leaves",
        "{ __typename " + "warehouses { code } " * 400 + "}",
        None,
        "TOO_MANY_FIELD_MERGES",
    ),
    # 343 landings of 150 fields: more fields than the largest cost allows.
    (
        "expanded fields",
        fragment_bomb(3, fan_out=7).replace("name email segment", " ".join(["name"] * 150)),
        None,
        "QUERY_TOO_COSTLY",
    ),
    ("too deep", DEEP, None, "QUERY_TOO_DEEP"),
    (
        "too many aliases",
        "{ " + " ".join(f"a{i}: __typename" for i in range(40)) + " }",
        None,
        "TOO_MANY_ALIASES",
    ),
    ("too many tokens", "{ " + "__typename " * 2100 + "}", None, "QUERY_TOO_LARGE"),
    (
        "too costly",
        "{ customers(first: 100) { edges { node { orders(first: 100) { edges { node {"
        " lines { product { price { listPrice } } } } } } } } } }",
        None,
        "QUERY_TOO_COSTLY",
    ),
    (
        "fragment cycle",
        "{ customers { edges { node { ...A } } } }"
        " fragment A on Customer { name ...B } fragment B on Customer { email ...A }",
        None,
        "GRAPHQL_VALIDATION_FAILED",
    ),
    ("only a fragment", "fragment F on Query { __typename }", None, "GRAPHQL_VALIDATION_FAILED"),
    (
        "unknown operationName",
        "query A { __typename } query B { __typename }",
        "C",
        "OPERATION_RESOLUTION_FAILURE",
    ),
    (
        "two operations, no name",
        "query A { __typename } query B { __typename }",
        None,
        "OPERATION_RESOLUTION_FAILURE",
    ),
]


@pytest.fixture(scope="module")
def served(
    sqlite_core: str, sims: Simulators, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServedGateway]:
    # A budget no refusal here exhausts: charging refusals has its own test.
    env = served_env(sqlite_core, sims, GATEWAY_RATE_LIMIT_BURST="1000000000")
    with served_gateway(env, tmp_path_factory.mktemp("hostile")) as gateway:
        yield gateway


def _post(url: str, body: dict[str, Any], accept: str) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = httpx.post(
        f"{url}/graphql", json=body, headers={**AUTH_HEADERS, "Accept": accept}, timeout=60
    )
    return response, time.perf_counter() - started


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, LEGACY_JSON])
@pytest.mark.parametrize(
    ("name", "query", "operation", "code"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_each_refusal_has_its_code_and_status(
    served: ServedGateway, accept: str, name: str, query: str, operation: str | None, code: str
) -> None:
    body: dict[str, Any] = {"query": query}
    if operation is not None:
        body["operationName"] = operation
    response, took = _post(served.url, body, accept)
    # GraphQL over HTTP: a request error is 400, or 200 under the legacy media type.
    assert response.status_code == (400 if accept == GRAPHQL_RESPONSE else 200), response.text
    assert response.headers["content-type"].startswith(accept)
    answer = response.json()
    assert "data" not in answer, answer
    assert [e["extensions"]["code"] for e in answer["errors"]][:1] == [code], answer
    assert "Internal server error" not in response.text
    assert took < REFUSAL_BOUND, f"{name}: refused in {took:.2f} s"


@pytest.mark.parametrize("levels", [9, 10])
def test_fragment_bombs_are_refused_in_milliseconds(served: ServedGateway, levels: int) -> None:
    """As fast as a trivial query: the expansion is never walked."""
    query = fragment_bomb(levels)

    def best_of(document: str, expected: int) -> float:
        timings = []
        headers = {**AUTH_HEADERS, "Accept": GRAPHQL_RESPONSE}  # a request error is a 400
        with httpx.Client(base_url=served.url, headers=headers, timeout=60) as client:
            for attempt in range(5):  # each text fresh: no cached verdict
                started = time.perf_counter()
                response = client.post("/graphql", json={"query": f"{document} #{attempt}"})
                timings.append(time.perf_counter() - started)
                assert response.status_code == expected, response.text
        return min(timings)

    bomb = best_of(query, 400)
    trivial = best_of("{ __typename }", 200)
    print(
        f"{levels}-level fragment bomb ({len(query)} characters): refused in "
        f"{bomb * 1000:.1f} ms (a trivial query: {trivial * 1000:.1f} ms)"
    )
    assert bomb < REFUSAL_BOUND / 3


def test_bombs_in_parallel_leave_the_gateway_responsive(served: ServedGateway) -> None:
    """While bombs arrive, an ordinary query still answers promptly."""
    bombs = [{"query": fragment_bomb(10) + f" # {i}"} for i in range(8)]
    bombs += [{"query": repeated_fields(120) + f" # {i}"} for i in range(8)]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        pending = [pool.submit(_post, served.url, body, GRAPHQL_RESPONSE) for body in bombs]
        response, took = _post(served.url, {"query": "{ warehouses { code } }"}, GRAPHQL_RESPONSE)
        results = [future.result() for future in pending]
    assert response.status_code == 200 and "errors" not in response.json()
    assert took < REFUSAL_BOUND * 2
    assert all(r.status_code == 400 for r, _ in results)
    assert max(t for _, t in results) < REFUSAL_BOUND * 4


def test_a_document_within_the_limits_still_runs(served: ServedGateway) -> None:
    """The bounds refuse bombs, not ordinary documents with fragments and shared fields."""
    query = """
    query Page { customers(first: 3) { edges { node { id ...Row ...Owner orders(first: 2) {
      edges { node { id ...OrderRow } } } } } } }
    fragment Row on Customer { id accountNumber name segment }
    fragment Owner on Customer { id name insights { healthScore owner { name } } }
    fragment OrderRow on Order { id orderNumber status total lines { lineNo quantity } }
    """
    response, _ = _post(served.url, {"query": query}, GRAPHQL_RESPONSE)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    assert len(body["data"]["customers"]["edges"]) == 3


def test_refusals_are_charged_to_the_callers_budget(
    tmp_path: Path, sqlite_core: str, sims: Simulators
) -> None:
    """A refused bomb costs ``max_query_cost``: four of them empty a 200,000 bucket."""
    env = served_env(
        sqlite_core, sims, GATEWAY_RATE_LIMIT_BURST="200000", GATEWAY_RATE_LIMIT_PER_SECOND="1"
    )
    with served_gateway(env, tmp_path) as gateway:
        ordinary = {"query": "{ warehouses { code } }"}
        assert _post(gateway.url, ordinary, GRAPHQL_RESPONSE)[0].status_code == 200
        for i in range(4):
            refused, _ = _post(
                gateway.url, {"query": fragment_bomb(9) + f" #{i}"}, GRAPHQL_RESPONSE
            )
            assert refused.json()["errors"][0]["extensions"]["code"] == "TOO_MANY_FRAGMENT_SPREADS"
        limited, _ = _post(gateway.url, ordinary, GRAPHQL_RESPONSE)
        assert limited.status_code == 429, limited.text
        assert limited.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert int(limited.headers["retry-after"]) >= 1
