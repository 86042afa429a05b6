"""The composition root: ``create_app(settings)`` builds the whole gateway.

The only module that knows every wing. Services are built here from the
settings, adapters are opened in the lifespan on one exit stack, and the
``/graphql`` chain (``gateway.http.endpoint``) is assembled from them; the
schema is built once here, never at import.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from graphql import ASTValidationRule, NoSchemaIntrospectionCustomRule
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from gateway.backends import Backends
from gateway.bolt_ons import BoltOnFacts, Declaration
from gateway.bolt_ons.graph import add_bolt_on_fields
from gateway.bolt_ons.loading import field_resolver
from gateway.caching.responses import InvalidationBroadcast, ResponseCache
from gateway.context import ContextFactory
from gateway.execution.compiled import PlanCache
from gateway.execution.documents import Documents
from gateway.gc_tuning import tuned_gc
from gateway.http.endpoint import GraphQLEndpoint, GraphQLServices, http_chain, operation_steps
from gateway.http.graphiql import build_graphiql_page, graphiql_routes
from gateway.http.health import healthz, readyz
from gateway.http.idempotency import IdempotencyStore
from gateway.http.server import HeaderLimits
from gateway.http.websocket import GatewayWebSocketView, WebSocketOperations
from gateway.lifecycle import CloseConnectionsWhileDraining
from gateway.limits.cost import CostModel
from gateway.limits.rate import LimiterLifetime, RateLimiter
from gateway.limits.shape import ShapeLimits
from gateway.observability.request_id import RequestIdMiddleware
from gateway.observability.wiring import Observability
from gateway.security.auth import Authenticator
from gateway.security.csrf import cors_options
from gateway.security.permissions import guard_fields, scope_guard
from gateway.security.persisted import PersistedQueries
from gateway.security.reload import ConfigReload
from gateway.settings import Settings
from gateway.writes.services import WriteServices
from schema import GatewaySchema, build_schema, stored_attribute

log = logging.getLogger("gateway")


def create_schema(settings: Settings, declarations: tuple[Declaration, ...] = ()) -> GatewaySchema:
    """The strawberry schema with the declared bolt-ons' fields, scope-protected fields guarded.

    Raises:
        DeclarationError: a declaration names a type, key or field the schema contradicts.
    """
    schema = build_schema()
    add_bolt_on_fields(
        schema._schema,
        declarations,
        key_attribute=lambda type_name, field: stored_attribute(schema, type_name, field),
        resolver=field_resolver,
        guard=scope_guard,
    )
    guard_fields(schema._schema)
    return schema


def validation_rules(settings: Settings) -> list[type[ASTValidationRule]]:
    """Validation beyond the specification's rules: introspection off in production."""
    return [] if settings.introspection_enabled else [NoSchemaIntrospectionCustomRule]


@dataclass
class _Parts:
    """What the app is built from, and what its lifespan opens and closes."""

    settings: Settings
    schema: GatewaySchema
    backends: Backends
    writes: WriteServices
    services: GraphQLServices
    broadcast: InvalidationBroadcast | None


def _parts(settings: Settings, backends: Backends) -> _Parts:
    schema = create_schema(settings, backends.declarations)
    bolt_ons = BoltOnFacts(backends.declarations)
    writes = WriteServices.from_settings(settings, backends)
    if backends.cache is not None:
        # Committed writes drop exactly the cached bolt-on answers they made stale.
        writes.on_change.append(backends.cache.apply_changes)
    response_cache = broadcast = None
    if settings.response_cache_enabled:
        response_cache = ResponseCache.from_settings(
            settings, bolt_ons.read_ttls(settings.cache_ttls)
        )
        # `gateway serve` warns about several workers without Redis once, not once per worker.
        broadcast = InvalidationBroadcast.from_settings(settings, response_cache)
        writes.on_change.append(broadcast.writes_committed)
    services = GraphQLServices(
        documents=Documents(
            schema._schema, validation_rules(settings), max_tokens=settings.max_query_tokens
        ),
        make_context=ContextFactory(settings, backends, writes),
        cost_model=CostModel.from_settings(
            settings, bolt_ons.field_costs(settings.bolt_on_field_cost)
        ),
        shape_limits=ShapeLimits.from_settings(settings),
        max_body_bytes=settings.max_body_bytes,
        max_batch=settings.batch_max_operations,
        plans=PlanCache(maxsize=settings.compiled_plans) if settings.compiled_execution else None,
        authenticator=Authenticator.from_settings(settings, extra_scopes=bolt_ons.scopes),
        persisted=PersistedQueries.from_settings(settings),
        response_cache=response_cache,
        limiter=RateLimiter.from_settings(settings) if settings.rate_limit_enabled else None,
        idempotency=IdempotencyStore.from_settings(settings, backends.core),
    )
    return _Parts(settings, schema, backends, writes, services, broadcast)


def _routes(parts: _Parts) -> list[BaseRoute]:
    services, settings = parts.services, parts.settings
    websocket = GatewayWebSocketView(
        parts.schema,
        operations=WebSocketOperations(
            operation_steps(services), services.make_context, services.plans
        ),
        authenticator=services.authenticator,
    )
    ide = None
    if settings.graphiql_enabled:
        page = build_graphiql_page()

        def ide(request: Request) -> Response:
            return page.response()

    endpoint = GraphQLEndpoint(http_chain(services), websocket_app=websocket, ide=ide)
    routes: list[BaseRoute] = [
        Route("/graphql", endpoint, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", endpoint),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
    ]
    if settings.graphiql_enabled:
        routes.extend(graphiql_routes())
    return routes


def _lifespan(
    parts: _Parts, observability: Observability
) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    services = parts.services

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(parts.backends)
            if services.persisted is not None:
                stack.push_async_callback(services.persisted.aclose)
            if services.limiter is not None:
                await stack.enter_async_context(LimiterLifetime(services.limiter))
            if parts.broadcast is not None:
                await parts.broadcast.start()
                stack.push_async_callback(parts.broadcast.aclose)
            app.state.backends = parts.backends
            app.state.settings = parts.settings
            app.state.draining = False
            if services.authenticator is not None:
                # Clients and JWT settings follow the settings file (SIGHUP, or a change).
                app.state.configuration = await stack.enter_async_context(
                    ConfigReload(
                        parts.settings,
                        services.authenticator,
                        interval=parts.settings.config_reload_interval,
                    )
                )
            # Gateway tables, live event bus, outbox dispatcher; stopped before the adapters.
            await stack.enter_async_context(parts.writes)
            app.state.writes = parts.writes
            await stack.enter_async_context(observability.running(app))
            # Last: everything built at start-up is in the heap the collector stops walking.
            settings = parts.settings
            stack.enter_context(
                tuned_gc(enabled=settings.gc_tuning, gen0_threshold=settings.gc_gen0_threshold)
            )
            log.info("gateway ready (env=%s)", settings.env)
            yield
            app.state.draining = True

    return lifespan


def create_app(settings: Settings, *, backends: Backends | None = None) -> Starlette:
    """Build the gateway's ASGI app.

    Args:
        settings: the one settings object.
        backends: adapters to use instead of those the settings describe
            (tests pass adapters pointed at their own servers); they are
            entered and closed by the app's lifespan either way.
    """
    parts = _parts(settings, backends if backends is not None else Backends.from_settings(settings))
    observability = Observability.from_settings(settings, parts.backends)
    routes = _routes(parts)
    routes.extend(observability.routes())
    app = Starlette(routes=routes, lifespan=_lifespan(parts, observability))
    observability.install(app)  # inside RequestIdMiddleware: it needs the request id
    # While draining, keep-alive connections are told to close after their response.
    app.add_middleware(CloseConnectionsWhileDraining, state=app.state)
    app.add_middleware(RequestIdMiddleware)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, **cors_options(settings))
    # Outermost: a head too large is refused before any other work (the served
    # parser has already bounded how much of it was read).
    app.add_middleware(
        HeaderLimits, max_bytes=settings.max_header_bytes, max_headers=settings.max_headers
    )
    app.state.schema = parts.schema
    app.state.plans = parts.services.plans  # compiled query plans (None: turned off)
    app.state.on_change = parts.writes.on_change  # cache hygiene seam (gateway.writes.changes)
    return app


def app_from_environment() -> Starlette:
    """The uvicorn factory for ``gateway serve``: settings from env and ``GATEWAY_CONFIG``.

    Each worker process calls it, so each builds its own pools after the fork.
    """
    from gateway.observability.logs import configure_logging
    from gateway.settings import load_settings

    settings = load_settings()
    configure_logging(settings)
    return create_app(settings)
