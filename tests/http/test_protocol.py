"""GraphQL-over-HTTP request parameters, batches and media-type negotiation."""

from __future__ import annotations

import pytest

from gateway.errors import RequestRejected
from gateway.http.protocol import accepts_multipart, batch_items, negotiate, parse_params


def test_valid_params() -> None:
    request = parse_params({"query": "{ a }", "variables": {"x": 1}, "operationName": "Q"})
    assert request.query == "{ a }"
    assert request.variables == {"x": 1}
    assert request.operation_name == "Q"


def test_a_persisted_document_needs_no_query() -> None:
    request = parse_params({"extensions": {"persistedQuery": {"version": 1}}})
    assert request.query is None


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ([{"query": "{ a }"}], "JSON object"),
        ({"query": 3}, "query"),
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


def test_batches_are_bounded() -> None:
    assert batch_items({"query": "{ a }"}, max_batch=5) is None
    assert batch_items([{}, {}], max_batch=5) == [{}, {}]
    with pytest.raises(RequestRejected, match="turned off"):
        batch_items([{}], max_batch=0)
    with pytest.raises(RequestRejected, match="at most 2") as caught:
        batch_items([{}, {}, {}], max_batch=2)
    assert caught.value.code == "BATCH_TOO_LARGE"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("", "application/json"),
        ("*/*", "application/json"),
        ("application/*", "application/json"),
        ("application/graphql-response+json, */*", "application/graphql-response+json"),
        ("application/graphql-response+json;q=0.5, */*", "application/json"),
        ("application/json", "application/json"),
        ("application/graphql-response+json", "application/graphql-response+json"),
        (
            "application/graphql-response+json, application/json;q=0.9",
            ("application/graphql-response+json"),
        ),
        (
            "application/json;q=0.9, application/graphql-response+json",
            ("application/graphql-response+json"),
        ),
        ("application/json, application/graphql-response+json;q=0.5", "application/json"),
        ("application/json, */*;q=0.1", "application/json"),
        ("application/graphql-response+json;q=0, application/json", "application/json"),
        ("text/html", None),
    ],
)
def test_media_type_negotiation_follows_q_values(accept: str, expected: str | None) -> None:
    assert negotiate(accept) == expected


def test_multipart_only_when_asked() -> None:
    assert accepts_multipart("multipart/mixed;deferSpec=20220824, application/json")
    assert not accepts_multipart("*/*")
    assert not accepts_multipart("multipart/mixed;q=0")
