"""Accept negotiation and status codes, over HTTP.

``application/graphql-response+json`` for a client that names it (also by
q-value), ``application/json`` for one that names that, sends ``*/*`` or no
Accept; 406 when neither is acceptable. Under the new type, a result whose
execution began is a 200 even when a field error nulled the whole root.
"""

from __future__ import annotations

import httpx
import pytest

from simulators.runner import Simulators

QUERY = '{ product(sku: "SKU-00001") { sku } }'
GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        (JSON, JSON),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        # Apollo Client 4 and graphql-http's client send this.
        (f"{GRAPHQL_RESPONSE}, {JSON};q=0.9", GRAPHQL_RESPONSE),
        (f"{JSON};q=0.9, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"{JSON}, {GRAPHQL_RESPONSE};q=0.5", JSON),
        (f"{GRAPHQL_RESPONSE};q=0, */*", JSON),
        (f"{GRAPHQL_RESPONSE};q=0.2, */*;q=0.1", GRAPHQL_RESPONSE),
        (f"text/html, {JSON};q=0.1", JSON),
    ],
)
def test_accept_q_values_choose_the_media_type(
    http: httpx.Client, accept: str | None, expected: str
) -> None:
    headers = {"Content-Type": "application/json"}
    if accept is not None:
        headers["Accept"] = accept
    # httpx adds "Accept: */*" unless told otherwise; build the request by hand.
    request = http.build_request("POST", "/graphql", json={"query": QUERY})
    request.headers.update(headers)
    if accept is None:
        del request.headers["Accept"]
    response = http.send(request)
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{expected}; charset=utf-8"
    assert response.json() == {"data": {"product": {"sku": "SKU-00001"}}}


@pytest.mark.parametrize(
    "accept", ["text/html", f"{GRAPHQL_RESPONSE};q=0, {JSON};q=0", "image/png, */*;q=0"]
)
def test_nothing_acceptable_is_406(http: httpx.Client, accept: str) -> None:
    response = http.post("/graphql", json={"query": QUERY}, headers={"Accept": accept})
    assert response.status_code == 406
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_ACCEPTABLE"


def test_a_field_error_that_nulls_the_root_is_still_200(http: httpx.Client) -> None:
    # Execution began: "data": null is a result, not a request error.
    response = http.post(
        "/graphql",
        json={"query": "{ customers(first: -1) { totalCount } }"},
        headers={"Accept": GRAPHQL_RESPONSE},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["path"] == ["customers"]


def test_a_partial_result_is_200(http: httpx.Client, sims: Simulators) -> None:
    sims.pricing.state.failure_rate = 1.0
    response = http.post(
        "/graphql",
        json={"query": '{ product(sku: "SKU-00003") { sku price { listPrice } } }'},
        headers={"Accept": GRAPHQL_RESPONSE},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["data"]["product"] == {"sku": "SKU-00003", "price": None}
    assert body["errors"][0]["extensions"]["service"] == "pricing"


def test_get_follows_the_same_negotiation(http: httpx.Client) -> None:
    strict = http.get(
        "/graphql", params={"query": "{ nope }"}, headers={"Accept": GRAPHQL_RESPONSE}
    )
    assert strict.status_code == 400
    assert strict.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    legacy = http.get("/graphql", params={"query": "{ nope }"})
    assert legacy.status_code == 200
    assert legacy.headers["content-type"].startswith(JSON)
    assert "data" not in legacy.json()
