"""GraphQL request errors over HTTP: nothing ran, so no ``data`` entry, and a code saying why.

The GraphQL-over-HTTP specification: a request error (the document does
not parse or validate, the operation cannot be picked, its variables do
not coerce) answers 400 under ``application/graphql-response+json`` and
200 under ``application/json``, without ``data``; ``extensions.code``
names the kind. Variables a client got wrong are its mistake: no ERROR
line in the log, no "Internal server error".
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

GRAPHQL_RESPONSE = {"Accept": "application/graphql-response+json"}
LEGACY_JSON = {"Accept": "application/json"}

#: customer -> orders -> customer ... fifteen levels deep (the limit is 12).
DEEP = (
    "{ customers { edges { node { "
    + "orders { edges { node { customer { " * 3
    + "id"
    + " } } } }" * 3
    + " } } } }"
)

PAGE = "query Page($n: Int!) { customers(first: $n) { totalCount } }"


def _post(http: httpx.Client, body: dict[str, Any], accept: dict[str, str]) -> httpx.Response:
    return http.post("/graphql", json=body, headers=accept)


def _request_error(response: httpx.Response, status: int, code: str) -> str:
    """The message of a request error, after checking its shape."""
    assert response.status_code == status, response.text
    body = response.json()
    assert "data" not in body, body
    assert body["errors"], body
    assert {error["extensions"]["code"] for error in body["errors"]} == {code}, body
    message: str = body["errors"][0]["message"]
    return message


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"n": "five"}, "Int cannot represent non-integer value"),
        ({}, "non-null type 'Int!' to be provided"),
        # graphql-core says "None"; a JavaScript client sent null.
        ({"n": None}, "non-null type 'Int!' not to be null"),
        ({"n": 2**40}, "Int cannot represent non 32-bit signed integer"),
    ],
)
def test_variable_errors_are_bad_user_input(
    http: httpx.Client, caplog: pytest.LogCaptureFixture, variables: dict[str, Any], named: str
) -> None:
    body = {"query": PAGE, "variables": variables}
    with caplog.at_level(logging.INFO):
        strict = _post(http, body, GRAPHQL_RESPONSE)
        legacy = _post(http, body, LEGACY_JSON)
    assert named in _request_error(strict, 400, "BAD_USER_INPUT")
    assert named in _request_error(legacy, 200, "BAD_USER_INPUT")
    assert "$n" in strict.json()["errors"][0]["message"]
    assert "Internal server error" not in strict.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_bad_input_object_variable_names_the_field(http: httpx.Client) -> None:
    query = (
        "mutation New($in: CreateCustomerInput!) { createCustomer(input: $in) "
        "{ customer { accountNumber } } }"
    )
    response = _post(
        http, {"query": query, "variables": {"in": {"name": "A", "emial": "x"}}}, GRAPHQL_RESPONSE
    )
    message = _request_error(response, 400, "BAD_USER_INPUT")
    assert "emial" in message


def _total_customers(http: httpx.Client) -> int:
    response = _post(http, {"query": "{ customers { totalCount } }"}, LEGACY_JSON)
    total: int = response.json()["data"]["customers"]["totalCount"]
    return total


def test_several_operations_need_an_operation_name(http: httpx.Client) -> None:
    # The mutation comes first: a server that ran "the first one" would write a customer.
    document = """
        mutation Write { createCustomer(input: {name: "Nobody", email: "no@example.com",
          segment: SMB, creditLimit: "10.00"}) { customer { accountNumber } } }
        query Read { customers(first: 1) { totalCount } }
    """
    before = _total_customers(http)
    for accept, status in ((GRAPHQL_RESPONSE, 400), (LEGACY_JSON, 200)):
        response = _post(http, {"query": document}, accept)
        message = _request_error(response, status, "OPERATION_RESOLUTION_FAILURE")
        assert "operation name" in message
    assert _total_customers(http) == before
    named = _post(http, {"query": document, "operationName": "Read"}, LEGACY_JSON)
    assert named.json()["data"]["customers"]["totalCount"] == before


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_unknown_operation_name_is_a_request_error(http: httpx.Client, method: str) -> None:
    params = {"query": "query Known { __typename }", "operationName": "Unknown"}
    for accept, status in ((GRAPHQL_RESPONSE, 400), (LEGACY_JSON, 200)):
        if method == "GET":
            response = http.get("/graphql", params=params, headers=accept)
        else:
            response = _post(http, params, accept)
        message = _request_error(response, status, "OPERATION_RESOLUTION_FAILURE")
        assert "Unknown" in message


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{ customers(first: 1) { totalCount ", "GRAPHQL_PARSE_FAILED"),
        ("{ customers(first: 1) { nope } }", "GRAPHQL_VALIDATION_FAILED"),
        ("query A { __typename } query A { __typename }", "GRAPHQL_VALIDATION_FAILED"),
        (DEEP, "QUERY_TOO_DEEP"),
        ("{ " + " ".join(f"a{i}: __typename" for i in range(40)) + " }", "TOO_MANY_ALIASES"),
        ("{ " + " ".join(["__typename"] * 2100) + " }", "QUERY_TOO_LARGE"),
    ],
    ids=["parse", "validation", "duplicate-operation", "depth", "aliases", "tokens"],
)
def test_document_errors_have_a_code_and_no_data(http: httpx.Client, query: str, code: str) -> None:
    for accept, status in ((GRAPHQL_RESPONSE, 400), (LEGACY_JSON, 200)):
        _request_error(_post(http, {"query": query}, accept), status, code)


def test_validation_errors_are_listed_with_their_locations(http: httpx.Client) -> None:
    response = _post(http, {"query": "{ nope alsoNope }"}, GRAPHQL_RESPONSE)
    _request_error(response, 400, "GRAPHQL_VALIDATION_FAILED")
    errors = response.json()["errors"]
    assert len(errors) == 2
    assert [error["locations"] for error in errors] == [
        [{"line": 1, "column": 3}],
        [{"line": 1, "column": 8}],
    ]


def test_an_execution_error_keeps_its_data_entry(http: httpx.Client) -> None:
    # Execution began: the spec wants ``data`` (null here) beside the field error.
    response = _post(http, {"query": "{ customers(first: -1) { totalCount } }"}, LEGACY_JSON)
    assert response.status_code == 200
    body = response.json()
    assert "data" in body and body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
