"""CORS for browser clients, over HTTP: the headers they send pass the preflight.

Apollo Client's clientAwareness (``apollographql-client-name``/``-version``),
browser OpenTelemetry (``traceparent``/``tracestate``/``baggage``) and the
gateway's own credential and preflight headers are allowed for a listed
origin; ``cors_allow_headers`` adds more (``*``: any).
"""

from __future__ import annotations

import httpx
import pytest

from gateway.settings import Settings
from tests.http.support import Serve

APP = "http://localhost:3000"


def _preflight(http: httpx.Client, headers: str, origin: str = APP) -> httpx.Response:
    return http.options(
        "/graphql",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": headers,
        },
    )


@pytest.mark.parametrize(
    "headers",
    [
        "content-type, authorization",
        "content-type, apollographql-client-name, apollographql-client-version",
        "content-type, apollographql-library-name, apollographql-library-version",
        "content-type, traceparent, tracestate, baggage",
        "content-type, x-api-key, idempotency-key, x-request-id",
        "apollo-require-preflight, accept",
    ],
)
def test_the_ecosystems_headers_pass_the_preflight(serve: Serve, headers: str) -> None:
    with serve(cors_origins=[APP]) as http:
        response = _preflight(http, headers)
        assert response.status_code == 200, response.text
        assert response.headers["access-control-allow-origin"] == APP
        allowed = response.headers["access-control-allow-headers"].lower()
        for header in headers.split(", "):
            assert header in allowed or header == "accept"
        simple = http.post("/graphql", json={"query": "{ __typename }"}, headers={"Origin": APP})
        assert simple.headers["access-control-allow-origin"] == APP
        assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()


def test_more_headers_can_be_allowed(serve: Serve) -> None:
    with serve(cors_origins=[APP]) as http:
        assert _preflight(http, "content-type, x-tenant").status_code == 400
    with serve(cors_origins=[APP], cors_allow_headers=["X-Tenant"]) as http:
        assert _preflight(http, "content-type, x-tenant").status_code == 200
    with serve(cors_origins=[APP], cors_allow_headers=["*"]) as http:
        assert _preflight(http, "content-type, x-anything").status_code == 200


def test_an_unlisted_origin_gets_no_cors(serve: Serve) -> None:
    with serve(cors_origins=[APP]) as http:
        refused = _preflight(http, "content-type", origin="http://evil.example")
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://localhost:3000", ["http://localhost:3000"]),
        (
            "http://localhost:3000, https://app.example",
            ["http://localhost:3000", "https://app.example"],
        ),
        ('["http://localhost:3000"]', ["http://localhost:3000"]),
    ],
)
def test_origins_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: list[str]
) -> None:
    monkeypatch.setenv("GATEWAY_CORS_ORIGINS", value)
    assert Settings().cors_origins == expected
