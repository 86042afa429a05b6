"""End to end over real HTTP: the app served by uvicorn on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gateway.app import create_app
from simulators.runner import BackgroundServer, Simulators
from tests.support.gateway import AUTH_HEADERS, served_gateway, settings_for

QUERY = '{ product(sku: "SKU-00001") { sku price { listPrice } } }'


@pytest.fixture(scope="module")
def base_url(sqlite_core: str, sims: Simulators) -> Iterator[str]:
    # Probes not reused: test_healthz_and_readyz turns a bolt-on off between two calls.
    settings = settings_for(
        sqlite_core, sims, max_body_bytes=4096, readiness_cache_seconds=0, batch_max_operations=0
    )
    with served_gateway(settings) as url:
        yield url


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, headers=AUTH_HEADERS) as client:
        yield client


def test_post_json(http: httpx.Client) -> None:
    response = http.post("/graphql", json={"query": QUERY})
    assert response.status_code == 200
    # Accept: */* (httpx's default) gets the type every client reads.
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json()["data"]["product"]["sku"] == "SKU-00001"
    legacy = http.post("/graphql", json={"query": QUERY}, headers={"Accept": "application/json"})
    assert legacy.headers["content-type"] == "application/json; charset=utf-8"


def test_get_query_with_variables(http: httpx.Client) -> None:
    response = http.get(
        "/graphql",
        params={
            "query": "query($s: String!) { product(sku: $s) { sku } }",
            "variables": '{"s": "SKU-00002"}',
        },
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"product": {"sku": "SKU-00002"}}}


def test_graphql_response_json_media_type(http: httpx.Client) -> None:
    accept = {"Accept": "application/graphql-response+json"}
    ok = http.post("/graphql", json={"query": QUERY}, headers=accept)
    assert ok.status_code == 200
    assert ok.headers["content-type"] == "application/graphql-response+json; charset=utf-8"
    syntax = http.post("/graphql", json={"query": "{ product("}, headers=accept)
    assert syntax.status_code == 400
    assert syntax.json()["errors"][0]["message"].startswith("Syntax Error")
    assert syntax.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert "data" not in syntax.json()
    invalid = http.post("/graphql", json={"query": "{ nope }"}, headers=accept)
    assert invalid.status_code == 400
    assert invalid.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    # The traditional media type keeps 200 for the same request error.
    legacy = http.post(
        "/graphql", json={"query": "{ nope }"}, headers={"Accept": "application/json"}
    )
    assert legacy.status_code == 200
    assert "Cannot query field 'nope'" in legacy.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("kwargs", "status", "fragment"),
    [
        ({"content": b"{not json", "headers": {"Content-Type": "application/json"}}, 400, "JSON"),
        ({"content": b"query=1", "headers": {"Content-Type": "text/plain"}}, 415, "Content-Type"),
        ({"json": [{"query": QUERY}]}, 400, "batched requests"),
        ({"json": {"variables": {}}}, 400, "query"),
        ({"json": {"query": "{ a }", "padding": "x" * 5000}}, 413, "larger"),
    ],
)
def test_bad_requests_get_clear_errors(
    http: httpx.Client, kwargs: dict[str, object], status: int, fragment: str
) -> None:
    response = http.post("/graphql", **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status
    assert fragment in response.json()["errors"][0]["message"]


def test_other_methods_are_refused(http: httpx.Client) -> None:
    response = http.put("/graphql", json={"query": QUERY})
    assert response.status_code == 405


def test_request_id_is_returned_and_kept(http: httpx.Client) -> None:
    mine = http.post("/graphql", json={"query": QUERY}, headers={"X-Request-ID": "abc-123"})
    assert mine.headers["x-request-id"] == "abc-123"
    generated = http.post("/graphql", json={"query": QUERY})
    assert len(generated.headers["x-request-id"]) == 32
    hostile = http.post("/graphql", json={"query": QUERY}, headers={"X-Request-ID": "a b\tc"})
    assert hostile.headers["x-request-id"] != "a b\tc"


def test_browser_get_serves_graphiql(http: httpx.Client) -> None:
    response = http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()
    assert "unpkg.com" not in response.text
    assert "content-security-policy" in response.headers


def test_healthz_and_readyz(http: httpx.Client, sims: Simulators) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}
    ready = http.get("/readyz")
    assert ready.status_code == 200
    backends = ready.json()["backends"]
    assert {name: b["status"] for name, b in backends.items()} == dict.fromkeys(
        ("core", "pricing", "crm", "shipping"), "up"
    )
    sims.crm.state.failure_rate = 1.0
    degraded = http.get("/readyz")
    # A bolt-on down costs only its fields: the gateway stays ready and says which.
    assert degraded.status_code == 200
    assert degraded.json()["backends"]["crm"]["status"] == "down"


def test_readyz_is_unready_without_the_core(sims: Simulators) -> None:
    app = create_app(settings_for("postgresql+asyncpg://x@127.0.0.1:1/none", sims))
    with BackgroundServer(app) as server, httpx.Client(base_url=server.url) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["backends"]["core"]["status"] == "down"
