"""CSRF protection for GraphQL over GET.

A POST must be ``application/json`` (``GraphQLEndpoint``), which a browser
cannot send cross-site without a CORS preflight. A GET is a "simple"
request a hostile page can make with the user's cookies, so a GET that looks
like it comes from a browser (it carries ``Origin``, ``Cookie`` or
``Sec-Fetch-Site: cross-site``) must also carry a header no simple request
may set: one of ``PREFLIGHT_HEADERS``, or a credential header. curl and
server-side clients send none of the browser markers and are unaffected.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.errors import ErrorCode, RequestRejected
from gateway.pipeline import Exchange, Handler, Reply
from gateway.security.settings import SecuritySettings

PREFLIGHT_HEADERS = (
    "x-requested-with",
    "apollo-require-preflight",
    "graphql-require-preflight",
    # Credential headers are not CORS-safelisted either: sending them took a preflight.
    "authorization",
    "x-api-key",
)


def csrf_refusal(method: str, headers: Mapping[str, str]) -> str | None:
    """Why a request is refused as a possible CSRF, or ``None`` when it is fine."""
    if method != "GET":
        return None
    from_browser = (
        "origin" in headers
        or "cookie" in headers
        or headers.get("sec-fetch-site", "").lower() == "cross-site"
    )
    if not from_browser or any(name in headers for name in PREFLIGHT_HEADERS):
        return None
    return (
        "a GET from a browser must carry an X-Requested-With, Apollo-Require-Preflight or "
        "GraphQL-Require-Preflight header (CSRF protection); or use POST with application/json"
    )


class CsrfGuard:
    """Step: refuse a browser's GET that a hostile page could have made (see the module)."""

    async def __call__(self, exchange: Exchange, call_next: Handler) -> Reply:
        connection = exchange.connection
        refusal = csrf_refusal(connection.scope.get("method", ""), connection.headers)
        if refusal is not None:
            raise RequestRejected(refusal, status=403, code=ErrorCode.CSRF_REJECTED)
        return await call_next(exchange)


#: Request headers the ecosystem's browser clients send, allowed in every CORS preflight.
CORS_REQUEST_HEADERS = (
    "Authorization",
    "Content-Type",
    "X-Api-Key",
    "X-Request-ID",
    "Idempotency-Key",
    "X-Requested-With",
    "Apollo-Require-Preflight",
    "GraphQL-Require-Preflight",
    # Apollo Client's clientAwareness (and enhancedClientAwareness over headers).
    "Apollographql-Client-Name",
    "Apollographql-Client-Version",
    "Apollographql-Library-Name",
    "Apollographql-Library-Version",
    # W3C trace context, as browser OpenTelemetry (and Sentry) propagate it.
    "Traceparent",
    "Tracestate",
    "Baggage",
    "Sentry-Trace",
)

#: Response headers a browser script may read (beyond the CORS-safelisted ones).
CORS_EXPOSED_HEADERS = (
    "Retry-After",
    "X-Request-ID",
    "WWW-Authenticate",
    "Idempotent-Replayed",
    "X-Response-Cache",
    "Age",
)


def cors_options(settings: SecuritySettings) -> dict[str, Any]:
    """Keyword arguments of Starlette's ``CORSMiddleware`` from the settings' allowlist."""
    extra = list(settings.cors_allow_headers)
    return {
        "allow_origins": list(settings.cors_origins),
        # Settings refuse a wildcard origin together with credentials.
        "allow_credentials": settings.cors_allow_credentials,
        "allow_methods": ["GET", "POST"],
        # Starlette answers "*" by echoing what the preflight asks for (valid with credentials).
        "allow_headers": ["*"] if "*" in extra else [*CORS_REQUEST_HEADERS, *extra],
        "expose_headers": list(CORS_EXPOSED_HEADERS),
        "max_age": 600,
    }
