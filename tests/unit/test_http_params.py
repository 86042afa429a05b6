"""GraphQL-over-HTTP request parsing and media-type negotiation."""

from __future__ import annotations

import pytest

from gateway.http.endpoint import RequestRejected, parse_params, wants_graphql_response_json


def test_valid_params() -> None:
    request = parse_params({"query": "{ a }", "variables": {"x": 1}, "operationName": "Q"})
    assert request.query == "{ a }"
    assert request.variables == {"x": 1}
    assert request.operation_name == "Q"


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ([{"query": "{ a }"}], "batching"),
        ({}, "query"),
        ({"query": "  "}, "query"),
        ({"query": "{ a }", "variables": [1]}, "variables"),
        ({"query": "{ a }", "operationName": 3}, "operationName"),
        ({"query": "{ a }", "extensions": "x"}, "extensions"),
    ],
)
def test_bad_params_name_the_parameter(params: object, named: str) -> None:
    with pytest.raises(RequestRejected) as caught:
        parse_params(params)
    assert caught.value.status == 400
    assert named in caught.value.message


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("", False),
        ("application/json", False),
        ("application/graphql-response+json", True),
        ("application/graphql-response+json, application/json;q=0.9", True),
        ("application/json, application/graphql-response+json", False),
        ("*/*", False),
    ],
)
def test_media_type_negotiation(accept: str, expected: bool) -> None:
    assert wants_graphql_response_json(accept) is expected
