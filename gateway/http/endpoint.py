"""The ``/graphql`` endpoint, following the GraphQL-over-HTTP specification.

- POST with ``Content-Type: application/json`` runs any operation;
- GET with ``?query=`` runs queries only (a mutation over GET is a 405);
- a browser's GET without a query gets GraphiQL (when enabled);
- ``Accept: application/graphql-response+json`` gets that media type, and a
  request error (unparsable or invalid document) is then a 400, as the
  specification asks; ``application/json`` keeps the traditional 200;
- websockets (graphql-transport-ws) go to strawberry's view.

We own the HTTP side instead of using strawberry's view so that body limits,
idempotency keys, persisted queries and auth have one place to hook in.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import strawberry
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from adapters import reads
from adapters.errors import BackendError
from gateway.caching.responses import CachedResponse, CacheKey, ResponseCache, cache_key
from gateway.context import Context
from gateway.http.idempotency import execute_once
from gateway.limits.rate import RATE_LIMITED, RateLimiter, charge
from gateway.loaders import STALE_EXTENSION
from gateway.observability import metrics
from gateway.observability.middleware import STATE_KEY
from gateway.security.auth import Authenticator, AuthError, Identity
from gateway.security.csrf import csrf_refusal
from gateway.security.persisted import PersistedQueries, PersistedQueryError

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"

log = logging.getLogger("gateway.http")


class RequestRejected(Exception):
    """The HTTP request cannot be run at all (before GraphQL execution)."""

    def __init__(
        self,
        status: int,
        message: str,
        headers: dict[str, str] | None = None,
        *,
        code: str = "BAD_REQUEST",
        extensions: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.code = code
        self.extensions = {"code": code, **(extensions or {})}


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    """The parameters of one GraphQL request, validated."""

    query: str
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None


def parse_params(params: Any) -> GraphQLRequest:
    """Validate the request parameters' shapes; errors name the parameter."""
    if not isinstance(params, dict):
        raise RequestRejected(400, "the body must be a JSON object (batching is not supported)")
    query = params.get("query")
    if not isinstance(query, str) or not query.strip():
        raise RequestRejected(400, "query: a non-empty string is required")
    variables = params.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise RequestRejected(400, "variables: must be a JSON object")
    operation_name = params.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestRejected(400, "operationName: must be a string")
    extensions = params.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise RequestRejected(400, "extensions: must be a JSON object")
    return GraphQLRequest(query, variables, operation_name, extensions)


def _json_param(value: str | None, name: str) -> Any:
    if value is None or value == "":
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise RequestRejected(400, f"{name}: is not valid JSON") from exc


def wants_graphql_response_json(accept: str) -> bool:
    """True when the client lists the new media type before (or instead of) plain JSON."""
    if not accept:
        return False
    media = [part.split(";", 1)[0].strip().lower() for part in accept.split(",")]
    if GRAPHQL_RESPONSE_JSON not in media:
        return False
    return APPLICATION_JSON not in media or media.index(GRAPHQL_RESPONSE_JSON) < media.index(
        APPLICATION_JSON
    )


def _is_browser(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "query" not in request.query_params


class GraphQLEndpoint:
    """The ASGI app mounted at ``/graphql`` (as a ``Route`` and a ``WebSocketRoute``).

    Args:
        schema: the built strawberry schema.
        make_context: builds the per-request ``Context``.
        ide: renders GraphiQL for a browser's GET, or ``None`` when it is off.
        websocket_app: the strawberry view handling graphql-transport-ws.
        max_body_bytes: the largest request body accepted.
        authenticator: turns credentials into an identity (401 without one);
            ``None`` skips it: the context keeps what ``make_context`` gave it.
        persisted: APQ and allowlists; ``None`` turns them off.
        response_cache: whole-response cache of queries; ``None`` turns it off.
        limiter: charges a cached response's cost to its client (the schema's
            rate-limit extension charges the responses that run).
    """

    def __init__(
        self,
        schema: strawberry.Schema,
        *,
        make_context: Callable[[Request | WebSocket], Context],
        ide: Callable[[Request], Response] | None,
        websocket_app: Callable[[Scope, Receive, Send], Any],
        max_body_bytes: int,
        authenticator: Authenticator | None = None,
        persisted: PersistedQueries | None = None,
        response_cache: ResponseCache | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.schema = schema
        self.make_context = make_context
        self.ide = ide
        self.websocket_app = websocket_app
        self.max_body_bytes = max_body_bytes
        self.authenticator = authenticator
        self.persisted = persisted
        self.response_cache = response_cache
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self.websocket_app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await self.handle(request)
        except RequestRejected as exc:
            response = _error_response(exc, request)
        except BackendError as exc:
            # Outside GraphQL execution (e.g. the idempotency store on the core): say which
            # backend, as a field error would, with no detail.
            log.warning("backend unavailable outside execution: %s", exc.code, exc_info=True)
            response = _error_response(
                RequestRejected(
                    503, f"{exc.service} is unavailable", code=exc.code, extensions=exc.extensions
                ),
                request,
            )
        except Exception:
            # A bug: the client gets the masked message and the request id, the log the trace.
            request_id = request.scope.get("state", {}).get("request_id")
            log.exception("unexpected error serving /graphql (request %s)", request_id)
            response = _error_response(
                RequestRejected(
                    500,
                    "Internal server error",
                    code="INTERNAL_SERVER_ERROR",
                    extensions={"requestId": request_id} if request_id else None,
                ),
                request,
            )
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        if request.method == "GET":
            if _is_browser(request):
                if self.ide is None:
                    return PlainTextResponse("Not Found", status_code=404)
                return self.ide(request)
            params = {
                "query": request.query_params.get("query"),
                "variables": _json_param(request.query_params.get("variables"), "variables"),
                "operationName": request.query_params.get("operationName") or None,
                "extensions": _json_param(request.query_params.get("extensions"), "extensions"),
            }
            allowed = {OperationType.QUERY}
        elif request.method == "POST":
            params = await self._read_json(request)
            allowed = {OperationType.QUERY, OperationType.MUTATION}
        else:
            raise RequestRejected(405, "use GET or POST", {"Allow": "GET, POST"})
        identity = self._authenticate(request)
        params = await self._resolve_persisted(params, identity)
        graphql_request = parse_params(params)
        context = self.make_context(request)
        if identity is not None:
            context.client_id = identity.client_id
            context.scopes = identity.scopes
        if self.response_cache is not None and "idempotency-key" not in request.headers:
            key = cache_key(
                graphql_request.query,
                graphql_request.operation_name,
                graphql_request.variables,
                graphql_request.extensions,
                context.scopes,
            )
            entry = self.response_cache.lookup(key)
            lead = False
            if entry is None:
                flight = self.response_cache.lead_or_follow(key)
                lead = flight is None
                if flight is not None:  # an identical request is running: wait for its answer
                    entry = await asyncio.shield(flight)
            metrics.record_cache("response", entry is not None)
            if entry is not None:
                return await self._replay(request, entry, context.client_id)
            return await self._execute_and_keep(
                request, graphql_request, context, allowed, key, lead=lead
            )
        # Idempotency-Key: a repeated mutation replays its stored first response.
        return await execute_once(
            request,
            graphql_request,
            context,
            lambda: self.execute(request, graphql_request, context, allowed),
        )

    def _authenticate(self, request: Request) -> Identity | None:
        """CSRF check, then the caller's identity; 403 / 401 before any GraphQL work."""
        refusal = csrf_refusal(request.method, request.headers)
        if refusal is not None:
            raise RequestRejected(403, refusal, code="CSRF_REJECTED")
        if self.authenticator is None:
            return None
        challenge = {"WWW-Authenticate": 'Bearer realm="gateway"'}
        try:
            identity = self.authenticator.authenticate(request.headers)
        except AuthError as exc:
            challenge["WWW-Authenticate"] += ', error="invalid_token"'
            raise RequestRejected(401, str(exc), challenge, code="UNAUTHENTICATED") from None
        if identity is None:
            raise RequestRejected(
                401,
                "authentication required: send 'Authorization: Bearer <API key or JWT>' "
                "or 'X-Api-Key: <API key>'",
                challenge,
                code="UNAUTHENTICATED",
            )
        return identity

    async def _resolve_persisted(self, params: Any, identity: Identity | None) -> Any:
        if self.persisted is None or not isinstance(params, dict):
            return params
        allowlist_only = identity is not None and identity.allowlist_only
        try:
            return await self.persisted.resolve(params, allowlist_only=allowlist_only)
        except PersistedQueryError as exc:
            raise RequestRejected(exc.status, exc.message, code=exc.code) from None

    async def _replay(self, request: Request, entry: CachedResponse, client_id: str) -> Response:
        """Answer from the response cache; the client's rate budget is still charged."""
        if self.limiter is not None:
            refusal = await charge(self.limiter, client_id, entry.cost)
            if refusal is not None:
                _raise_if_rate_limited(ExecutionResult(data=None, errors=[refusal]))
        request.scope.setdefault("state", {})[STATE_KEY] = {
            "operation": entry.operation,
            "type": "query",
            "outcome": "ok",
            "errors": [],
            "client_id": client_id,
            "response_cache": "hit",
        }
        return Response(
            entry.body,
            media_type=_media_type(request),
            headers={"X-Response-Cache": "hit", "Age": str(entry.age())},
        )

    async def _execute_and_keep(
        self,
        request: Request,
        graphql_request: GraphQLRequest,
        context: Context,
        allowed: set[OperationType],
        key: CacheKey,
        *,
        lead: bool,
    ) -> Response:
        """Run the operation and keep its response if it may be cached.

        ``lead``: this request leads the single flight of ``key`` and must end it.
        """
        cache = self.response_cache
        assert cache is not None
        generation = cache.generation
        entry = None
        try:
            with reads.tracking() as read_set:
                response = await self.execute(request, graphql_request, context, allowed)
            info = request.scope.get("state", {}).get(STATE_KEY) or {}
            if (
                info.get("type") == "query"
                and info.get("outcome") == "ok"
                and response.status_code == 200
                and STALE_EXTENSION not in context.extensions
            ):
                entry = cache.store(
                    key,
                    bytes(response.body),
                    read_set,
                    cost=context.cost or 1,
                    operation=info.get("operation"),
                    generation=generation,
                )
            if entry is not None:
                response.headers["X-Response-Cache"] = "miss"
            return response
        finally:
            if lead:
                cache.led(key, entry)  # followers replay the entry, or run themselves

    async def execute(
        self,
        request: Request,
        graphql_request: GraphQLRequest,
        context: Context,
        allowed: set[OperationType],
    ) -> Response:
        try:
            result = await self.schema.execute(
                graphql_request.query,
                variable_values=graphql_request.variables,
                context_value=context,
                operation_name=graphql_request.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=graphql_request.extensions,
            )
        except InvalidOperationTypeError as exc:
            raise RequestRejected(
                405, "only queries may be sent with GET; use POST", {"Allow": "POST"}
            ) from exc
        _raise_if_rate_limited(result)
        return self.respond(request, result, context)

    def respond(self, request: Request, result: ExecutionResult, context: Context) -> Response:
        body: dict[str, Any] = {}
        if result.errors:
            body["errors"] = [_format(error) for error in result.errors]
        body["data"] = result.data
        extensions = {**(result.extensions or {}), **context.extensions}
        if extensions:
            body["extensions"] = extensions
        status = 200
        media_type = _media_type(request)
        if media_type == GRAPHQL_RESPONSE_JSON and result.data is None and result.errors:
            status = 400  # a request error: the document could not run at all
        return Response(orjson.dumps(body), status_code=status, media_type=media_type)

    async def _read_json(self, request: Request) -> Any:
        content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if content_type != APPLICATION_JSON:
            # Also our CSRF guard: a browser cannot send application/json cross-site
            # without a CORS preflight.
            raise RequestRejected(415, "Content-Type must be application/json")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise RequestRejected(413, f"the body is larger than {self.max_body_bytes} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise RequestRejected(413, f"the body is larger than {self.max_body_bytes} bytes")
            chunks.append(chunk)
        try:
            return orjson.loads(b"".join(chunks))
        except orjson.JSONDecodeError as exc:
            raise RequestRejected(400, "the body is not valid JSON") from exc


def _raise_if_rate_limited(result: ExecutionResult) -> None:
    for error in result.errors or ():
        extensions = error.extensions or {}
        if extensions.get("code") == RATE_LIMITED:
            retry = str(extensions.get("retryAfter", 1))
            raise RequestRejected(429, error.message, {"Retry-After": retry}, code=RATE_LIMITED)


def _format(error: GraphQLError) -> dict[str, Any]:
    return error.formatted  # type: ignore[return-value]


def _media_type(request: Request) -> str:
    if wants_graphql_response_json(request.headers.get("accept", "")):
        return GRAPHQL_RESPONSE_JSON
    return APPLICATION_JSON


def _error_response(exc: RequestRejected, request: Request) -> Response:
    body = {"errors": [{"message": exc.message, "extensions": exc.extensions}]}
    return Response(
        orjson.dumps(body),
        status_code=exc.status,
        media_type=_media_type(request),
        headers=exc.headers,
    )
