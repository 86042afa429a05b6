"""GraphiQL works with no internet: its assets come from us, and a real browser runs it.

The app here is the smallest one that uses ``gateway.http.graphiql``: strawberry's
view (``OfflineGraphQL``) on ``/graphql`` for HTTP and websockets, plus the
vendored assets. It is served by uvicorn on loopback and driven with
Debian's headless Chromium (``tests/support/browser.py``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from collections.abc import AsyncGenerator, Iterator

import httpx
import pytest
import strawberry
from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute
from strawberry.http.ides import get_graphql_ide_html

from gateway.http.graphiql import (
    DEFAULT_QUERY,
    STATIC_PREFIX,
    VENDORED_ASSETS,
    GraphiQLAssetsMissing,
    OfflineGraphQL,
    _rewrite,
    build_graphiql_page,
    graphiql_page,
    graphiql_routes,
)
from tests.support.browser import Chromium, chromium_available, run_query_in_graphiql, serve

GREETING = "world-from-gateway"


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return GREETING


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def count(self, up_to: int = 3) -> AsyncGenerator[int, None]:
        for i in range(1, up_to + 1):
            await asyncio.sleep(0.01)
            yield i


def make_app() -> Starlette:
    view = OfflineGraphQL(strawberry.Schema(query=Query, subscription=Subscription))
    return Starlette(
        routes=[
            Route("/graphql", view),
            WebSocketRoute("/graphql", view),
            *graphiql_routes(),
        ]
    )


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve(make_app()) as url:
        yield url


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        yield client


def _attribute_urls(html: str) -> list[str]:
    return [m[1] for m in re.findall(r"""\b(src|href)\s*=\s*"(.*?)\"""", html, re.DOTALL)]


def _external_urls(html: str) -> list[str]:
    return [u for u in _attribute_urls(html) if not (u.startswith("/") or u.startswith("data:"))]


# --- no browser -----------------------------------------------------------------


def test_browser_get_returns_offline_page_with_security_headers(http: httpx.Client) -> None:
    response = http.get("/graphql", headers={"Accept": "text/html"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "GraphiQL" in html
    assert "unpkg.com" not in html
    assert _external_urls(html) == []
    assets = [u for u in _attribute_urls(html) if not u.startswith("data:")]
    assert sorted(assets) == sorted(f"{STATIC_PREFIX}/{p}" for p in VENDORED_ASSETS.values())

    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    directives = (
        d.strip().split(" ", 1) for d in response.headers["content-security-policy"].split(";")
    )
    csp = {d[0]: d[1] if len(d) > 1 else "" for d in directives}
    assert csp["default-src"] == "'none'"
    assert csp["connect-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    # GraphiQL's dialogs add <style> elements (see the browser test), but no
    # script runs unless it is ours: the one inline script is allowed by its hash.
    assert csp["style-src"] == "'self' 'unsafe-inline'"
    (inline,) = re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    assert csp["script-src"] == f"'self' 'sha256-{digest}'"


def test_every_asset_is_served_and_matches_strawberrys_integrity(http: httpx.Client) -> None:
    html = http.get("/graphql", headers={"Accept": "text/html"}).text
    tags = re.findall(r"<(?:script|link)\b[^>]*>", html, re.DOTALL)
    checked = 0
    for tag in tags:
        url = re.search(r"""\b(?:src|href)="([^"]*)\"""", tag)
        integrity = re.search(r"""\bintegrity="sha384-([^"]*)\"""", tag)
        if url is None or url[1].startswith("data:"):
            continue
        response = http.get(url[1])
        assert response.status_code == 200, url[1]
        expected_type = "text/css" if url[1].endswith(".css") else "javascript"
        assert expected_type in response.headers["content-type"], url[1]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "immutable" in response.headers["cache-control"]
        # Strawberry pins each asset by hash: our copy must be that very file.
        assert integrity is not None, tag
        digest = base64.b64encode(hashlib.sha384(response.content).digest()).decode()
        assert digest == integrity[1], url[1]
        checked += 1
    assert checked == len(VENDORED_ASSETS)


def test_page_is_strawberrys_page_with_only_the_urls_and_default_query_changed() -> None:
    original = get_graphql_ide_html("graphiql")
    page = graphiql_page()
    for cdn_url, local in VENDORED_ASSETS.items():
        original = original.replace(cdn_url, f"{STATIC_PREFIX}/{local}")
    example = re.compile(r"const EXAMPLE_QUERY = `.*?`;", re.DOTALL)
    assert "`" not in DEFAULT_QUERY
    assert "${" not in DEFAULT_QUERY
    assert f"const EXAMPLE_QUERY = `{DEFAULT_QUERY}`;" in page
    assert example.sub("", page) == example.sub("", original)
    assert graphiql_page(static_prefix="/gw/assets/") == build_graphiql_page("/gw/assets/").html
    assert f"/gw/assets/{VENDORED_ASSETS[next(iter(VENDORED_ASSETS))]}" in graphiql_page(
        static_prefix="/gw/assets/"
    )


def test_unvendored_asset_is_refused_loudly() -> None:
    html = '<script src="https://unpkg.com/graphiql@9.9.9/graphiql.min.js"></script>'
    with pytest.raises(GraphiQLAssetsMissing, match=r"graphiql@9\.9\.9"):
        _rewrite(html, STATIC_PREFIX)


def test_only_graphiql_can_be_offline() -> None:
    schema = strawberry.Schema(query=Query)
    with pytest.raises(ValueError, match="apollo-sandbox"):
        OfflineGraphQL(schema, graphql_ide="apollo-sandbox")
    assert OfflineGraphQL(schema, graphql_ide=None)._graphiql is None


def test_queries_still_reach_the_schema(http: httpx.Client) -> None:
    response = http.post("/graphql", json={"query": "{ hello }"})
    assert response.json() == {"data": {"hello": GREETING}}
    response = http.get("/graphql", params={"query": "{ hello }"}, headers={"Accept": "*/*"})
    assert response.json() == {"data": {"hello": GREETING}}


# --- in Chromium ------------------------------------------------------------------

needs_chromium = pytest.mark.skipif(
    not chromium_available(),
    reason="/usr/bin/chromium is absent (apt-get install chromium)",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    with Chromium() as chromium:
        yield chromium


@pytest.mark.browser
@needs_chromium
def test_graphiql_runs_a_query_with_its_run_button(base_url: str) -> None:
    # run_query_in_graphiql also fails on any request off the machine or CSP violation.
    text = run_query_in_graphiql(f"{base_url}/graphql", "{ hello }", contains=GREETING)
    assert '"hello"' in text
    assert GREETING in text


@pytest.mark.browser
@needs_chromium
def test_graphiql_loads_only_from_us_and_runs_subscriptions(
    base_url: str, browser: Chromium
) -> None:
    with browser.open(f"{base_url}/graphql") as page:
        page.wait_for_graphiql()
        # What the rendered page loads from (links to GraphiQL's site are not loads).
        loaded_from = page.evaluate(
            """[...document.querySelectorAll(
                 'script[src], link[href], img[src], iframe[src], source[src], embed[src]')]
               .map((el) => el.src || el.href)"""
        )
        assert loaded_from
        assert [u for u in loaded_from if not u.startswith((base_url, "data:"))] == []

        page.set_graphiql_query("subscription { count(upTo: 3) }")
        page.click(".graphiql-execute-button")
        text = page.graphiql_response(contains='"count": 3')
        assert '"count": 3' in text

        requested = page.requested_urls()
        assert page.off_machine_requests() == []
        assert any(u.startswith(f"{base_url}{STATIC_PREFIX}/graphiql@") for u in requested)
        assert f"{base_url.replace('http', 'ws', 1)}/graphql" in requested
        assert page.failed_requests() == []
        assert page.csp_violations() == []
        assert page.errors() == []

        # Dialogs add <style> elements; the policy must let them.
        page.click('.graphiql-sidebar button[aria-label="Open settings dialog"]')
        page.wait_for("!!document.querySelector('[role=dialog]')")
        page.wait_for("document.querySelectorAll('head style').length > 1")
        assert page.csp_violations() == []
