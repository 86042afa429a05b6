"""Batched requests (a JSON array, as Apollo's BatchHttpLink sends), over HTTP.

Each operation of a batch goes down the chain on its own: refused or
answered on its own, costed and charged to the caller's rate budget on its
own; the answer is an array in the same order. On by default with at most
``batch_max_operations`` (10, BatchHttpLink's own default) operations.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.http.support import Serve
from tests.support.gateway import client_config

PRODUCTS = "{ products(first: 10) { edges { node { sku } } } }"  # costs 31
CANCEL = 'mutation { cancelOrder(input: {orderNumber: "SO-000001"}) { order { status } } }'
SKU = 'query One { product(sku: "SKU-00001") { sku } }'


def _batch(http: httpx.Client, operations: list[Any], **headers: str) -> httpx.Response:
    return http.post("/graphql", json=operations, headers=headers)


def test_a_batch_answers_each_operation_in_order(http: httpx.Client) -> None:
    response = _batch(
        http,
        [
            {"query": SKU},
            {
                "query": "query Two($s: String!) { product(sku: $s) { sku } }",
                "variables": {"s": "SKU-00002"},
            },
            {"query": "{ customers(first: 1) { totalCount } }"},
        ],
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    answers = response.json()
    assert [answer["data"] for answer in answers] == [
        {"product": {"sku": "SKU-00001"}},
        {"product": {"sku": "SKU-00002"}},
        {"customers": {"totalCount": 50}},
    ]


def test_one_bad_operation_does_not_sink_the_others(http: httpx.Client) -> None:
    answers = _batch(
        http,
        [
            {"query": SKU},
            {"query": "{ product(sku: "},
            {"query": "{ nope }"},
            {"query": "query($n: Int!) { customers(first: $n) { totalCount } }", "variables": {}},
            {"query": 42},
            "not an object",
            {"query": '{ product(sku: "SKU-00002") { sku } }'},
        ],
        Accept="application/graphql-response+json",
    ).json()
    assert answers[0] == {"data": {"product": {"sku": "SKU-00001"}}}
    codes = [answer["errors"][0]["extensions"]["code"] for answer in answers[1:6]]
    assert codes == [
        "GRAPHQL_PARSE_FAILED",
        "GRAPHQL_VALIDATION_FAILED",
        "BAD_USER_INPUT",
        "BAD_REQUEST",
        "BAD_REQUEST",
    ]
    assert all("data" not in answer for answer in answers[1:6])
    assert answers[4]["errors"][0]["message"] == "[4] query: must be a string"
    assert answers[6] == {"data": {"product": {"sku": "SKU-00002"}}}


def test_each_operation_is_charged_to_the_rate_budget(serve: Serve) -> None:
    # Room for two of these queries, not three.
    with serve(rate_limit_burst=70, rate_limit_per_second=0.001) as http:
        answers = _batch(http, [{"query": PRODUCTS}] * 3).json()
        limited = [a for a in answers if "errors" in a]
        assert len([a for a in answers if a.get("data")]) == 2
        assert [a["errors"][0]["extensions"]["code"] for a in limited] == ["RATE_LIMITED"]
        # The budget is spent: the same query alone is now refused too.
        alone = http.post("/graphql", json={"query": PRODUCTS})
        assert alone.status_code == 429


def test_each_operation_is_costed_alone(serve: Serve) -> None:
    with serve(max_query_cost=40) as http:
        answers = _batch(
            http,
            [{"query": PRODUCTS}, {"query": "{ products(first: 20) { edges { node { sku } } } }"}],
        ).json()
    assert len(answers[0]["data"]["products"]["edges"]) == 10
    assert answers[1]["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"


def test_each_mutation_needs_its_scope(serve: Serve) -> None:
    read_only = client_config(scopes=["core:read"])
    with serve(clients=[read_only]) as http:
        answers = _batch(
            http,
            [
                {"query": SKU},
                {"query": CANCEL},
            ],
        ).json()
    assert answers[0]["data"] == {"product": {"sku": "SKU-00001"}}
    assert answers[1]["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "data" not in answers[1]


def test_an_idempotency_key_with_a_batch_is_refused(http: httpx.Client) -> None:
    response = http.post(
        "/graphql",
        json=[{"query": SKU}, {"query": SKU}],
        headers={"Idempotency-Key": "batch-1", "Accept": "application/graphql-response+json"},
    )
    assert response.status_code == 400
    body = response.json()
    assert "Idempotency-Key" in body["errors"][0]["message"]
    assert "data" not in body


def test_batch_limits(serve: Serve, http: httpx.Client) -> None:
    too_many = _batch(http, [{"query": SKU}] * 11)
    assert too_many.status_code == 400
    assert too_many.json()["errors"][0]["extensions"]["code"] == "BATCH_TOO_LARGE"
    assert "at most 10" in too_many.json()["errors"][0]["message"]
    empty = _batch(http, [])
    assert empty.status_code == 400
    assert "at least one" in empty.json()["errors"][0]["message"]
    with serve(batch_max_operations=0) as off:
        refused = _batch(off, [{"query": SKU}])
    assert refused.status_code == 400
    assert "GATEWAY_BATCH_MAX_OPERATIONS" in refused.json()["errors"][0]["message"]


def test_a_batch_never_streams(http: httpx.Client) -> None:
    deferred = '{ product(sku: "SKU-00001") { sku ... @defer { price { listPrice } } } }'
    response = _batch(
        http, [{"query": deferred}], Accept="multipart/mixed;deferSpec=20220824, application/json"
    )
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json()[0]["data"]["product"]["price"]["listPrice"]
