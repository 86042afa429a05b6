"""GraphiQL without the internet: strawberry's page, its CDN assets served by us.

Strawberry's GraphiQL page loads React, js-cookie, GraphiQL and the explorer
plugin from unpkg, so on a machine without internet access it renders blank.
The exact files it asks for are vendored in ``gateway/http/static/graphiql/`` (see
the README there): this module rewrites the page to load them from
``/static/graphiql/...``, serves them, and puts a strict Content-Security-Policy
on the page.

The page is strawberry's own, read when first needed, so fixes to its inline
script come with strawberry upgrades. If an upgrade asks for assets we do not
vendor, building the page fails loudly (``GraphiQLAssetsMissing``) instead of
serving a blank page. The ``integrity`` attributes are kept: the browser
checks that our copies are byte-for-byte the files strawberry pinned.

The page talks to the URL it was served from: queries and mutations with
``fetch``, subscriptions over graphql-transport-ws on the same URL.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope
from strawberry.asgi import GraphQL
from strawberry.http.ides import get_graphql_ide_html
from strawberry.schema import BaseSchema

__all__ = [
    "STATIC_DIR",
    "STATIC_PREFIX",
    "VENDORED_ASSETS",
    "GraphiQLAssetsMissing",
    "GraphiQLPage",
    "OfflineGraphQL",
    "VendoredStaticFiles",
    "build_graphiql_page",
    "graphiql_page",
    "graphiql_routes",
]

STATIC_PREFIX = "/static/graphiql"
STATIC_DIR = Path(__file__).resolve().parent / "static" / "graphiql"

# The CDN URLs in strawberry 0.341's page -> our copies, relative to STATIC_DIR.
# Each copy sits in a ``name@version`` folder, so its URL changes with its
# version and may be cached for good. (Flat folders: the repository ignores
# ``dist/``.)
VENDORED_ASSETS: MappingProxyType[str, str] = MappingProxyType(
    {
        "https://unpkg.com/react@18.2.0/umd/react.production.min.js": (
            "react@18.2.0/react.production.min.js"
        ),
        "https://unpkg.com/react-dom@18.2.0/umd/react-dom.production.min.js": (
            "react-dom@18.2.0/react-dom.production.min.js"
        ),
        "https://unpkg.com/js-cookie@3.0.5/dist/js.cookie.min.js": (
            "js-cookie@3.0.5/js.cookie.min.js"
        ),
        "https://unpkg.com/graphiql@3.8.3/graphiql.min.css": "graphiql@3.8.3/graphiql.min.css",
        "https://unpkg.com/graphiql@3.8.3/graphiql.min.js": "graphiql@3.8.3/graphiql.min.js",
        "https://unpkg.com/@graphiql/plugin-explorer@1.0.2/dist/style.css": (
            "graphiql-plugin-explorer@1.0.2/style.css"
        ),
        "https://unpkg.com/@graphiql/plugin-explorer@1.0.2/dist/index.umd.js": (
            "graphiql-plugin-explorer@1.0.2/index.umd.js"
        ),
    }
)

_ASSET_ATTRIBUTE = re.compile(r"""\b(src|href)\s*=\s*(["'])(.*?)\2""", re.DOTALL)
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
_YEAR = 365 * 24 * 60 * 60


class GraphiQLAssetsMissing(RuntimeError):
    """Strawberry's GraphiQL page asks for an asset that is not vendored here.

    Refresh ``gateway/http/static/graphiql/`` (its README has the command) and
    ``VENDORED_ASSETS``.
    """


@dataclass(frozen=True, slots=True)
class GraphiQLPage:
    """The rewritten GraphiQL page and the response headers that go with it.

    Example:
        >>> page = build_graphiql_page()
        >>> page.html.count("unpkg.com")
        0
        >>> page.headers["X-Frame-Options"]
        'DENY'
    """

    html: str
    assets: tuple[str, ...]
    script_hashes: tuple[str, ...]
    # Derived once here, so serving the page is a copy, not a computation.
    _body: bytes = field(init=False, repr=False, compare=False)
    _headers: tuple[tuple[str, str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_body", self.html.encode("utf-8"))
        headers = {
            "Content-Security-Policy": self.content_security_policy,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY",
            "Cache-Control": "no-cache",
        }
        object.__setattr__(self, "_headers", tuple(headers.items()))

    @property
    def content_security_policy(self) -> str:
        """Only our own origin; the page's one inline script is allowed by its hash.

        Styles need ``'unsafe-inline'``: GraphiQL's dialogs and menus
        (react-remove-scroll) add ``<style>`` elements whose text varies, so no
        hash can allow them. Scripts get no such exception.
        ``connect-src 'self'`` also allows ``ws:``/``wss:`` to the same host
        and port (CSP level 3), which the subscriptions need. Fonts are
        ``data:`` URLs inside graphiql.min.css; the favicon is a ``data:`` SVG.
        """
        scripts = " ".join(f"'{digest}'" for digest in self.script_hashes)
        return "; ".join(
            (
                "default-src 'none'",
                f"script-src 'self' {scripts}".rstrip(),
                "style-src 'self' 'unsafe-inline'",
                "img-src 'self' data:",
                "font-src 'self' data:",
                "connect-src 'self'",
                "base-uri 'none'",
                "form-action 'none'",
                "frame-ancestors 'none'",
            )
        )

    @property
    def headers(self) -> dict[str, str]:
        """The page's security headers (a fresh copy)."""
        return dict(self._headers)

    def response(self) -> HTMLResponse:
        """A fresh response for one request (responses are not shared)."""
        return HTMLResponse(self._body, headers=dict(self._headers))


def _csp_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def _rewrite(html: str, static_prefix: str) -> tuple[str, tuple[str, ...]]:
    assets: list[str] = []
    unknown: list[str] = []

    def replace(match: re.Match[str]) -> str:
        attribute, quote, url = match.groups()
        if url.startswith("data:"):
            return match.group(0)
        local = VENDORED_ASSETS.get(url)
        if local is None or not (STATIC_DIR / local).is_file():
            unknown.append(url)
            return match.group(0)
        assets.append(local)
        return f"{attribute}={quote}{static_prefix}/{local}{quote}"

    rewritten = _ASSET_ATTRIBUTE.sub(replace, html)
    if unknown:
        raise GraphiQLAssetsMissing(
            "strawberry's GraphiQL page loads assets not vendored in "
            f"{STATIC_DIR}: {', '.join(unknown)}; refresh them (see the README there)"
        )
    return rewritten, tuple(assets)


#: What a newcomer sees in the editor: one query that touches the core and all three bolt-ons.
DEFAULT_QUERY = """# One endpoint over the core (customers, orders, products) and the
# Pricing, CRM and Shipping bolt-ons. Press the run button (Ctrl+Enter).
{
  customers(first: 5) {
    edges {
      node {
        accountNumber
        name
        insights { healthScore churnRisk }
        orders(first: 3) {
          edges {
            node {
              orderNumber
              status
              total
              shipment { carrier status }
              lines { quantity product { sku price { listPrice marginPct } } }
            }
          }
        }
      }
    }
  }
}
"""

_EXAMPLE_QUERY = re.compile(r"(const EXAMPLE_QUERY = `)(.*?)(`;)", re.DOTALL)


def _with_default_query(html: str) -> str:
    # Strawberry's page opens on its EXAMPLE_QUERY when the URL carries no ``q``.
    # It is a template literal: DEFAULT_QUERY holds no backtick and no ``${`` (a test checks).
    return _EXAMPLE_QUERY.sub(lambda m: m.group(1) + DEFAULT_QUERY + m.group(3), html, count=1)


@lru_cache(maxsize=8)
def build_graphiql_page(static_prefix: str = STATIC_PREFIX) -> GraphiQLPage:
    """Strawberry's GraphiQL page, loading its assets from ``static_prefix``.

    Built once per prefix and cached.

    Raises:
        GraphiQLAssetsMissing: the page references an asset we do not vendor.
    """
    prefix = static_prefix.rstrip("/")
    # GraphiQL sends its Headers tab as the websocket's connection_init payload, which is
    # how subscriptions from the page authenticate (gateway/http/websocket.py).
    html, assets = _rewrite(_with_default_query(get_graphql_ide_html("graphiql")), prefix)
    return GraphiQLPage(
        html=html,
        assets=assets,
        script_hashes=tuple(_csp_hash(s) for s in _INLINE_SCRIPT.findall(html)),
    )


def graphiql_page(*, static_prefix: str = STATIC_PREFIX) -> str:
    """The HTML of the offline GraphiQL page (see ``build_graphiql_page``)."""
    return build_graphiql_page(static_prefix).html


class VendoredStaticFiles(StaticFiles):
    """``StaticFiles`` for the vendored assets, with caching and ``nosniff``.

    Files under a ``name@version`` folder never change at their URL, so they
    are cached for a year as immutable; the README and licences are revalidated.

    Example:
        >>> app = VendoredStaticFiles(directory=STATIC_DIR)
    """

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        first = path.replace("\\", "/").split("/", 1)[0]
        response.headers["Cache-Control"] = (
            f"public, max-age={_YEAR}, immutable" if "@" in first else "no-cache"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def graphiql_routes(*, prefix: str = STATIC_PREFIX) -> list[BaseRoute]:
    """The route serving the vendored GraphiQL assets under ``prefix``.

    Pass the same prefix to ``OfflineGraphQL(static_prefix=...)``.
    """
    return [Mount(prefix, app=VendoredStaticFiles(directory=STATIC_DIR), name="graphiql-static")]


class OfflineGraphQL(GraphQL[Any, Any]):
    """Strawberry's ASGI view whose GraphiQL loads its assets from this gateway.

    Serve ``graphiql_routes()`` beside it. Only GraphiQL is offered offline:
    ``graphql_ide`` may be ``"graphiql"`` (the default) or ``None``.

    Example:
        >>> import strawberry
        >>> from starlette.applications import Starlette
        >>> from starlette.routing import Route, WebSocketRoute
        >>> @strawberry.type
        ... class Query:
        ...     hello: str = "world"
        >>> view = OfflineGraphQL(strawberry.Schema(query=Query))
        >>> app = Starlette(
        ...     routes=[
        ...         Route("/graphql", view),
        ...         WebSocketRoute("/graphql", view),
        ...         *graphiql_routes(),
        ...     ]
        ... )
    """

    def __init__(
        self,
        schema: BaseSchema,
        *args: Any,
        static_prefix: str = STATIC_PREFIX,
        **kwargs: Any,
    ) -> None:
        super().__init__(schema, *args, **kwargs)
        if self.graphql_ide not in ("graphiql", None):
            raise ValueError(
                f"OfflineGraphQL serves only GraphiQL offline, not {self.graphql_ide!r}"
            )
        # Built now, so a missing asset shows at start-up, not on the first visit.
        self._graphiql = build_graphiql_page(static_prefix) if self.graphql_ide else None

    @property
    def graphql_ide_html(self) -> str:
        if self._graphiql is None:
            raise RuntimeError("GraphiQL is disabled on this view")
        return self._graphiql.html

    def graphiql_response(self) -> Response:
        """The GraphiQL page with its security headers."""
        if self._graphiql is None:
            raise RuntimeError("GraphiQL is disabled on this view")
        return self._graphiql.response()

    async def render_graphql_ide(self, request: Request) -> Response:
        return self.graphiql_response()
