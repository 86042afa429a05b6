"""``/graphql``: GraphQL over HTTP, read top to bottom.

A request goes down one chain of steps (``gateway.pipeline``), each in the
module of its concern, each wrapping the rest:

    CsrfGuard           security/csrf.py      a browser GET without a preflight header: 403
    Authenticate        security/auth.py      who calls: 401 without a valid credential
    ReadParams          http/params.py        query string or JSON body; a batch fans out here
    OpenContext         context.py            the operation's own Context (loaders, identity)
    PersistedDocuments  security/persisted.py APQ and allowlists fill in the document
    ResponseCaching     caching/responses.py  a repeated query answered without running it
    ChargeRefusals      limits/rate.py        a document refused for a limit is charged
    Parse               execution/prepare.py  the document (cached by its text)
    DocumentLimits      limits/shape.py       depth, aliases, spreads, fields, merges (linear)
    Validate            execution/prepare.py  the specification's rules (cached)
    Resolve             execution/prepare.py  the operation picked, its variables coerced
    CostLimit           limits/cost.py        the computed cost against the maximum
    RootPermissions     security/permissions.py  a mutation the caller may not run: 403
    RateLimit           limits/rate.py        the cost charged to the caller's budget: 429
    Idempotency         http/idempotency.py   a repeated Idempotency-Key replays its answer
    Execute             execution/execute.py  run it (fields guarded by scope as they resolve)

Any step may refuse with ``RequestRejected``; this module answers every
refusal, result, batch and incremental stream in the media type the client
negotiated (``http.protocol``). A new cross-cutting feature is a new step
in ``http_chain``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from adapters.errors import BackendError
from gateway.caching.responses import ResponseCache, ResponseCaching
from gateway.context import ContextFactory
from gateway.errors import ErrorCode, RequestRejected
from gateway.execution.compiled import PlanCache
from gateway.execution.documents import Documents
from gateway.execution.execute import Execute
from gateway.execution.incremental import DEFAULT_SPEC, Spec
from gateway.execution.prepare import OpenContext, Parse, Resolve, Validate
from gateway.http.idempotency import Idempotency, IdempotencyStore
from gateway.http.params import ReadParams
from gateway.http.protocol import (
    APPLICATION_JSON,
    MULTIPART_MIXED,
    incremental_spec,
    negotiate,
)
from gateway.limits.cost import CostLimit, CostModel
from gateway.limits.rate import ChargeRefusals, RateLimit, RateLimiter
from gateway.limits.shape import DocumentLimits, ShapeLimits
from gateway.observability.request_id import current_request_id
from gateway.observability.stats import RequestStats, current_stats
from gateway.pipeline import Exchange, Handler, Reply, Step, Transport, chain
from gateway.security.auth import Authenticate, Authenticator
from gateway.security.csrf import CsrfGuard
from gateway.security.permissions import RootPermissions
from gateway.security.persisted import PersistedDocuments, PersistedQueries

log = logging.getLogger("gateway.http")

#: Multipart framing (boundary ``-``) as graphql-yoga writes it: the delimiter follows
#: each part at once, because clients (Apollo's, meros) hand a part over only when they
#: see the delimiter after it: one written before the next part would hold each part
#: back until the next one is ready, and the core data until the slowest bolt-on.
_BOUNDARY = "-"
_DELIMITER = b"\r\n---"
_PART_HEAD = b"\r\nContent-Type: application/json; charset=utf-8\r\n\r\n"
_CLOSE = b"--\r\n"


@dataclass(frozen=True, slots=True)
class GraphQLServices:
    """What the ``/graphql`` chain is made of; ``None`` turns a feature off."""

    documents: Documents
    make_context: ContextFactory
    cost_model: CostModel
    shape_limits: ShapeLimits
    max_body_bytes: int
    max_batch: int = 0
    plans: PlanCache | None = None
    authenticator: Authenticator | None = None
    persisted: PersistedQueries | None = None
    response_cache: ResponseCache | None = None
    limiter: RateLimiter | None = None
    idempotency: IdempotencyStore | None = None


def operation_steps(services: GraphQLServices) -> list[Step]:
    """From a parsed document to a runnable, permitted, paid-for operation.

    The websocket runs these too, before its own execution.
    """
    steps: list[Step] = []
    if services.limiter is not None:
        steps.append(ChargeRefusals(services.limiter, penalty=services.cost_model.max_cost))
    steps += [
        Parse(services.documents),
        DocumentLimits(services.shape_limits, services.documents.schema),
        Validate(services.documents),
        Resolve(services.documents.schema),
        CostLimit(services.documents.schema, services.cost_model),
        RootPermissions(),
    ]
    if services.limiter is not None:
        steps.append(RateLimit(services.limiter))
    return steps


def http_chain(services: GraphQLServices) -> Handler:
    """The steps of an HTTP request, outermost first (the table of the module docstring)."""
    steps: list[Step] = [
        CsrfGuard(),
        Authenticate(services.authenticator),
        ReadParams(max_body_bytes=services.max_body_bytes, max_batch=services.max_batch),
        OpenContext(services.make_context),
    ]
    if services.persisted is not None:
        steps.append(PersistedDocuments(services.persisted))
    if services.response_cache is not None:
        steps.append(ResponseCaching(services.response_cache, services.limiter))
    steps.extend(operation_steps(services))
    steps.append(Idempotency(services.idempotency))
    return chain(steps, Execute(services.plans))


class GraphQLEndpoint:
    """The ASGI app at ``/graphql`` (mounted as a ``Route`` and a ``WebSocketRoute``).

    Args:
        handler: the HTTP chain (``http_chain``).
        websocket_app: serves graphql-transport-ws upgrades.
        ide: renders GraphiQL for a browser's GET, or ``None`` when it is off.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        websocket_app: Callable[[Scope, Receive, Send], Any],
        ide: Callable[[Request], Response] | None,
    ) -> None:
        self.handler = handler
        self.websocket_app = websocket_app
        self.ide = ide

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self.websocket_app(scope, receive, send)
            return
        request = Request(scope, receive)
        response = await self.respond(request)
        await response(scope, receive, send)

    async def respond(self, request: Request) -> Response:
        """Run the request down the chain and answer in the negotiated media type."""
        accept = request.headers.get("accept", "")
        if request.method == "GET" and _is_browser(request):
            return self.ide(request) if self.ide else PlainTextResponse("Not Found", 404)
        spec = incremental_spec(accept)
        media_type = negotiate(accept) or (APPLICATION_JSON if spec else None)
        if media_type is None:
            rejection = RequestRejected(
                "Accept: this endpoint answers application/graphql-response+json, "
                "application/json or multipart/mixed",
                status=406,
                code=ErrorCode.NOT_ACCEPTABLE,
            )
            return render(Reply.refused(rejection), APPLICATION_JSON)
        if request.method not in ("GET", "POST"):
            rejection = RequestRejected(
                "use GET or POST", status=405, headers={"Allow": "GET, POST"}
            )
            return render(Reply.refused(rejection), media_type)
        exchange = Exchange(
            request,
            Transport(request.method),
            accepts_stream=spec is not None,
            incremental_spec=spec or DEFAULT_SPEC,
        )
        reply = await self._run(exchange)
        stats = current_stats.get()
        if stats is not None:
            if reply.stream is not None:
                reply.stream = _counted(reply, reply.stream, stats)
            else:
                stats.operations.extend(reply.operations)
        return render(reply, media_type, spec=exchange.incremental_spec)

    async def _run(self, exchange: Exchange) -> Reply:
        try:
            return await self.handler(exchange)
        except RequestRejected as exc:
            return Reply.refused(exc, exchange)
        except BackendError as exc:
            # Outside GraphQL execution (the idempotency store on the core, say): say which
            # backend, as a field error would, with no detail.
            log.warning("backend unavailable outside execution: %s", exc.code)
            rejection = RequestRejected(
                f"{exc.service} is unavailable",
                status=503,
                code=exc.code,
                extensions=exc.extensions,
            )
            return Reply.refused(rejection, exchange)
        except Exception:
            # A bug: the client gets the masked message and the request id, the log the trace.
            request_id = current_request_id.get()
            log.exception("unexpected error serving /graphql (request %s)", request_id)
            rejection = RequestRejected(
                "Internal server error",
                status=500,
                code=ErrorCode.INTERNAL_SERVER_ERROR,
                extensions={"requestId": request_id} if request_id else None,
            )
            return Reply.refused(rejection, exchange)


def render(reply: Reply, media_type: str, *, spec: Spec = DEFAULT_SPEC) -> Response:
    """The HTTP response of a reply, in ``media_type`` (or multipart for a stream)."""
    if reply.stream is not None:
        named = "incrementalSpec=v0.2" if spec == "v0.2" else "deferSpec=20220824"
        return StreamingResponse(
            _multipart(reply.stream),
            media_type=f'{MULTIPART_MIXED}; boundary="{_BOUNDARY}"; {named}',
            headers=reply.headers,
        )
    status = reply.status
    if reply.rejection is not None:
        status = reply.rejection.status_for(media_type)
    return Response(
        reply.rendered(),
        status_code=status,
        headers=reply.headers,
        media_type=f"{media_type}; charset=utf-8",
    )


async def _counted(
    reply: Reply, stream: AsyncIterator[dict[str, Any]], stats: RequestStats
) -> AsyncIterator[dict[str, Any]]:
    """``stream``, its outcome handed to the access log once the last payload is out."""
    try:
        async for payload in stream:
            yield payload
    finally:
        stats.operations.extend(reply.operations)


async def _multipart(payloads: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    opening = _DELIMITER
    async for payload in payloads:
        yield opening + _PART_HEAD + orjson.dumps(payload) + _DELIMITER
        opening = b""
    yield _CLOSE


def _is_browser(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "query" not in request.query_params


__all__ = ["GraphQLEndpoint", "GraphQLServices", "http_chain", "operation_steps", "render"]
