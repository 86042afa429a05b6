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
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache

from gateway.access_log import OperationInfo
from gateway.auth import Authenticator, identity_or_none
from gateway.backends import Backends
from gateway.context import Context
from gateway.csrf import cors_options
from gateway.errors import MaskInternalErrors
from gateway.gc_tuning import tuned_gc
from gateway.graphiql import graphiql_routes
from gateway.graphql_http import GraphQLEndpoint
from gateway.graphql_ws import GatewayGraphQLView
from gateway.health import healthz, readyz
from gateway.lifecycle import CloseConnectionsWhileDraining
from gateway.limits import limit_extensions
from gateway.observability import Observability
from gateway.permissions import Permissions
from gateway.persisted import PersistedQueries
from gateway.ratelimit import LimiterLifetime, RateLimit, RateLimiter, rate_limiter_from_settings
from gateway.request_id import RequestIdMiddleware, new_request_id
from gateway.response_cache import InvalidationBroadcast, response_cache_from_settings
from gateway.settings import Settings
from gateway.writes import WriteServices
from schema import GatewaySchema, build_schema

log = logging.getLogger("gateway")


def _extensions(
    settings: Settings, limiter: RateLimiter | None = None
) -> list[type[SchemaExtension]]:
    extensions: list[Any] = [
        MaskInternalErrors,
        OperationInfo,
        # Caches keyed by the document text: repeated operations skip parse and validation.
        lambda: ParserCache(maxsize=1024),
        lambda: ValidationCache(maxsize=1024),
    ]
    if not settings.introspection_enabled:
        from strawberry.extensions import DisableIntrospection

        extensions.append(DisableIntrospection)
    # Access control and limits: scopes, then size/depth/aliases/cost, then the rate budget.
    extensions.extend([Permissions, *limit_extensions(settings)])
    if limiter is not None:
        extensions.append(RateLimit.factory(limiter))
    return extensions


def create_schema(settings: Settings, limiter: RateLimiter | None = None) -> GatewaySchema:
    return build_schema(extensions=_extensions(settings, limiter))


def create_app(settings: Settings, *, backends: Backends | None = None) -> Starlette:
    """Build the gateway's ASGI app.

    Args:
        settings: the one settings object.
        backends: adapters to use instead of those the settings describe
            (tests pass adapters pointed at their own servers); they are
            entered and closed by the app's lifespan either way.
    """
    limiter = rate_limiter_from_settings(settings) if settings.rate_limit_enabled else None
    schema = create_schema(settings, limiter)
    authenticator = Authenticator.from_settings(settings)
    persisted = PersistedQueries.from_settings(settings)
    owned_backends = backends if backends is not None else Backends.from_settings(settings)
    observability = Observability(settings, owned_backends)
    writes = WriteServices(settings, owned_backends)
    if owned_backends.cache is not None:
        # Committed writes drop exactly the cached bolt-on answers they made stale.
        writes.on_change.append(owned_backends.cache.apply_changes)
    response_cache = response_cache_from_settings(settings)
    broadcast = None
    if response_cache is not None:
        if settings.workers > 1 and not settings.redis_url:
            log.warning(
                "the response cache is on with %d workers and no GATEWAY_REDIS_URL: a write "
                "drops the writing worker's entries only; the others' live until their TTL",
                settings.workers,
            )
        broadcast = InvalidationBroadcast(
            response_cache, settings.redis_url, channel=settings.response_cache_channel
        )
        writes.on_change.append(broadcast.writes_committed)

    def make_context(request: Request | WebSocket) -> Context:
        state = request.scope.get("state", {})
        context = Context(
            settings=settings,
            backends=owned_backends,
            request_id=state.get("request_id") or new_request_id(),
            request=request,
            writes=writes,
        )
        if isinstance(request, WebSocket):
            # graphql-transport-ws: the credential comes with the upgrade request's headers.
            identity = identity_or_none(authenticator, request.headers)
            if identity is not None:
                context.client_id, context.scopes = identity.client_id, identity.scopes
        return context

    ws_view = GatewayGraphQLView(schema, make_context=make_context, authenticator=authenticator)
    endpoint = GraphQLEndpoint(
        schema,
        make_context=make_context,
        ide=ws_view.ide_response if settings.graphiql_enabled else None,
        websocket_app=ws_view,
        max_body_bytes=settings.max_body_bytes,
        authenticator=authenticator,
        persisted=persisted,
        response_cache=response_cache,
        limiter=limiter,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(owned_backends)
            stack.push_async_callback(persisted.aclose)
            if limiter is not None:
                await stack.enter_async_context(LimiterLifetime(limiter))
            if broadcast is not None:
                await broadcast.start()
                stack.push_async_callback(broadcast.aclose)
            app.state.backends = owned_backends
            app.state.settings = settings
            app.state.draining = False
            # Gateway tables, live event bus, outbox dispatcher; stopped before the adapters.
            await stack.enter_async_context(writes)
            app.state.writes = writes
            await stack.enter_async_context(observability.running(app))
            # Last: everything built at start-up is in the heap the collector stops walking.
            stack.enter_context(
                tuned_gc(enabled=settings.gc_tuning, gen0_threshold=settings.gc_gen0_threshold)
            )
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
    routes.extend(observability.routes())

    app = Starlette(routes=routes, lifespan=lifespan)
    observability.install(app)  # inside RequestIdMiddleware: it needs the request id
    # While draining, keep-alive connections are told to close after their response.
    app.add_middleware(CloseConnectionsWhileDraining, state=app.state)
    app.add_middleware(RequestIdMiddleware)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, **cors_options(settings))
    app.state.schema = schema
    app.state.on_change = writes.on_change  # cache hygiene seam (gateway.changes)
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
