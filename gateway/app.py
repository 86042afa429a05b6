"""The composition root: ``create_app(settings)`` builds the whole gateway.

The only module that knows every package. Adapters are opened in the
lifespan on one exit stack and reach requests through ``app.state``; the
schema is built once here, never at import.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache

from gateway.backends import Backends
from gateway.context import Context
from gateway.errors import MaskInternalErrors
from gateway.graphiql import graphiql_routes
from gateway.graphql_http import GraphQLEndpoint
from gateway.graphql_ws import GatewayGraphQLView
from gateway.health import healthz, readyz
from gateway.request_id import RequestIdMiddleware, new_request_id
from gateway.settings import Settings
from schema import GatewaySchema, build_schema

log = logging.getLogger("gateway")


def _extensions(settings: Settings) -> list[type[SchemaExtension]]:
    extensions: list[Any] = [
        MaskInternalErrors,
        # Caches keyed by the document text: repeated operations skip parse and validation.
        lambda: ParserCache(maxsize=1024),
        lambda: ValidationCache(maxsize=1024),
    ]
    if not settings.introspection_enabled:
        from strawberry.extensions import DisableIntrospection

        extensions.append(DisableIntrospection)
    return extensions


def create_schema(settings: Settings) -> GatewaySchema:
    return build_schema(extensions=_extensions(settings))


def create_app(settings: Settings, *, backends: Backends | None = None) -> Starlette:
    """Build the gateway's ASGI app.

    Args:
        settings: the one settings object.
        backends: adapters to use instead of those the settings describe
            (tests pass adapters pointed at their own servers); they are
            entered and closed by the app's lifespan either way.
    """
    schema = create_schema(settings)
    owned_backends = backends if backends is not None else Backends.from_settings(settings)

    def make_context(request: Request | WebSocket) -> Context:
        state = request.scope.get("state", {})
        return Context(
            settings=settings,
            backends=owned_backends,
            request_id=state.get("request_id") or new_request_id(),
            request=request,
        )

    ws_view = GatewayGraphQLView(schema, make_context=make_context)
    endpoint = GraphQLEndpoint(
        schema,
        make_context=make_context,
        ide=ws_view.ide_response if settings.graphiql_enabled else None,
        websocket_app=ws_view,
        max_body_bytes=settings.max_body_bytes,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(owned_backends)
            app.state.backends = owned_backends
            app.state.settings = settings
            app.state.draining = False
            log.info("gateway ready (env=%s)", settings.env)
            yield
            app.state.draining = True

    routes: list[BaseRoute] = [
        Route("/graphql", endpoint, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", endpoint),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
    ]
    if settings.graphiql_enabled:
        routes.extend(graphiql_routes())

    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(RequestIdMiddleware)
    app.state.schema = schema
    return app


def app_from_environment() -> Starlette:
    """The uvicorn factory for ``gateway serve``: settings from env and ``GATEWAY_CONFIG``.

    Each worker process calls it, so each builds its own pools after the fork.
    """
    from gateway.logs import configure_logging
    from gateway.settings import load_settings

    settings = load_settings()
    configure_logging(settings)
    return create_app(settings)
