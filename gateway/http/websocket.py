"""GraphQL over websockets: graphql-transport-ws, and the legacy graphql-ws protocol.

The subprotocol the client asks for decides: ``graphql-transport-ws`` (the
graphql-ws library, Apollo's GraphQLWsLink, urql, GraphiQL) or the legacy
``graphql-ws`` of subscriptions-transport-ws (Apollo's old WebSocketLink).

Strawberry's protocol handlers speak the wire (connection_init, ping/pong,
subscribe/next/complete; the legacy start/data/stop); every operation runs
down the same steps as over HTTP (``http.endpoint.operation_steps``: limits,
cost, permissions, rate budget) and then streams: a subscription's events,
a query's one result, or a ``@defer``/``@stream`` query's payloads, each as
one ``next`` message.

A connection authenticates once, with the upgrade request's headers (server
clients) or the ``connection_init`` payload (browsers cannot set headers on
an upgrade). The payload may carry the credential the way the common
clients send it: ``{"Authorization": "Bearer <key>"}``, ``{"X-Api-Key": ...}``,
``{"headers": {"Authorization": ...}}`` (Apollo, urql set-ups) or
``{"authToken": "<key>"}``. A refused connection is closed with 4403 and a
reason saying why (the legacy protocol first sends a ``connection_error``
with that reason as its message).
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

import strawberry
from graphql import ExecutionResult, OperationType
from graphql.execution import create_source_event_stream, map_source_to_response_event
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.types.unset import UnsetType

from gateway.context import ContextFactory
from gateway.errors import RequestRejected
from gateway.execution.compiled import PlanCache
from gateway.execution.execute import Execute, outcome_of
from gateway.execution.masking import masked
from gateway.execution.prepare import OpenContext
from gateway.pipeline import (
    Exchange,
    GraphQLRequest,
    Handler,
    Reply,
    Step,
    Transport,
    chain,
)
from gateway.security.auth import Authenticator, AuthError
from gateway.security.clients import Identity


@dataclass
class Connection:
    """One websocket connection: its caller, once known (what strawberry calls its context)."""

    websocket: WebSocket
    identity: Identity | None = None
    #: graphql-transport-ws ``connection_init`` payload (strawberry sets it).
    connection_params: dict[str, object] | None = None


class WebSocketOperations:
    """Runs each websocket operation down the operation steps, then streams its answers.

    Args:
        steps: the operation steps shared with HTTP (``operation_steps``).
        make_context: builds each operation's ``Context``.
    """

    def __init__(
        self, steps: list[Step], make_context: ContextFactory, plans: PlanCache | None = None
    ) -> None:
        self.handler: Handler = chain([OpenContext(make_context), *steps], self._stream)
        self._execute = Execute(plans)

    async def run(
        self, connection: Connection, query: str, variables: Any, operation_name: Any
    ) -> Reply:
        """The operation's reply: a ``stream`` of payloads, or a ``rejection``."""
        exchange = Exchange(
            connection.websocket,
            Transport.WEBSOCKET,
            identity=connection.identity,
            accepts_stream=True,
        )
        try:
            exchange.params = _params(query, variables, operation_name)
            return await self.handler(exchange)
        except RequestRejected as exc:
            return Reply.refused(exc, exchange)

    async def _stream(self, exchange: Exchange) -> Reply:
        operation = exchange.require_operation()
        if operation.kind is not OperationType.SUBSCRIPTION:
            reply = await self._execute(exchange)
            if reply.stream is None:
                reply.stream = _one(reply.response_object())
            return reply
        request_id = exchange.require_context().request_id
        source: Any = create_source_event_stream(operation.executor)
        if inspect.isawaitable(source):
            source = await source
        if isinstance(source, ExecutionResult):  # the subscription could not start
            errors = masked(source.errors or [], request_id)
            return Reply(
                outcome=outcome_of(exchange, None, errors),
                stream=_one(_formatted(ExecutionResult(None, errors))),
            )
        events = map_source_to_response_event(operation.executor, source)
        return Reply(outcome=outcome_of(exchange, {}, ()), stream=_events(events, request_id))


def _params(query: Any, variables: Any, operation_name: Any) -> GraphQLRequest:
    if not isinstance(query, str) or not query.strip():
        raise RequestRejected("query: a non-empty string is required")
    if variables is not None and not isinstance(variables, dict):
        raise RequestRejected("variables: must be a JSON object")
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestRejected("operationName: must be a string")
    return GraphQLRequest(query, variables, operation_name or None)


async def _one(payload: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    yield payload


async def _events(
    events: AsyncIterator[ExecutionResult], request_id: str
) -> AsyncIterator[dict[str, Any]]:
    try:
        async for event in events:
            if event.errors:
                event.errors = masked(event.errors, request_id)
            yield _formatted(event)
    finally:
        with contextlib.suppress(Exception):
            await events.aclose()  # type: ignore[attr-defined]


def _formatted(result: ExecutionResult) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    payload["data"] = result.data
    return payload


# --- the wire ---------------------------------------------------------------------


def credential_headers(params: Mapping[str, object]) -> dict[str, str]:
    """The credential headers a ``connection_init`` payload carries, in its common shapes."""
    nested = params.get("headers")
    sources: list[Mapping[str, object]] = [params]
    if isinstance(nested, Mapping):
        sources.insert(0, nested)
    headers: dict[str, str] = {}
    for source in sources:
        for key, value in source.items():
            name = key.lower()
            if isinstance(value, str) and name in ("authorization", "x-api-key"):
                headers.setdefault(name, value)
    token = params.get("authToken") or params.get("token")
    if isinstance(token, str) and "authorization" not in headers and "x-api-key" not in headers:
        headers["authorization"] = token if " " in token else f"Bearer {token}"
    return headers


class _TransportWSHandler(BaseGraphQLTransportWSHandler[Connection, None]):
    view: GatewayWebSocketView

    async def handle_connection_init(self, message: Any) -> None:
        # Strawberry closes a refused connection with a bare "Forbidden": say why instead.
        payload = message.get("payload") or {}
        reason = self.view.refusal(self.context, payload if isinstance(payload, dict) else {})
        if reason is not None:
            if self.connection_init_timeout_task:
                self.connection_init_timeout_task.cancel()
            await self.websocket.close(code=4403, reason=reason[:120])
            return
        await super().handle_connection_init(message)

    async def run_operation(self, operation: Operation[Connection, None]) -> None:
        reply = await self.view.operations.run(
            self.context, operation.query, operation.variables, operation.operation_name
        )
        if reply.rejection is not None:
            error = {"id": operation.id, "type": "error", "payload": reply.rejection.formatted()}
            await operation.send_operation_message(cast(Any, error))
            return
        assert reply.stream is not None
        with contextlib.suppress(Exception):
            async for payload in reply.stream:
                message = {"id": operation.id, "type": "next", "payload": payload}
                await operation.send_operation_message(cast(Any, message))
        await operation.send_operation_message({"id": operation.id, "type": "complete"})


class _LegacyWSHandler(BaseGraphQLWSHandler[Connection, None]):
    view: GatewayWebSocketView

    async def handle_connection_init(self, message: Any) -> None:
        # Strawberry answers a refusal with close code 1011 ("internal error") and no
        # reason: say why, in the connection_error the protocol has and in the close.
        payload = message.get("payload")
        params = payload if isinstance(payload, dict) else {}
        reason = self.view.refusal(self.context, params)
        if reason is not None:
            error = {"type": "connection_error", "payload": {"message": reason}}
            await self.send_message(cast(Any, error))
            await self.websocket.close(code=4403, reason=reason[:120])
            return
        await super().handle_connection_init(message)

    async def handle_async_results(
        self,
        operation_id: str,
        query: str,
        operation_name: str | None,
        variables: dict[str, object] | None,
    ) -> None:
        try:
            reply = await self.view.operations.run(self.context, query, variables, operation_name)
            if reply.rejection is not None:
                first = reply.rejection.formatted()[0]
                error = {"type": "error", "id": operation_id, "payload": first}
                await self.send_message(cast(Any, error))
                return
            assert reply.stream is not None
            async for payload in reply.stream:
                data = {"type": "data", "id": operation_id, "payload": payload}
                await self.send_message(cast(Any, data))
            await self.send_message({"type": "complete", "id": operation_id})
        finally:
            self.subscriptions.pop(operation_id, None)
            self.tasks.pop(operation_id, None)


class GatewayWebSocketView(GraphQL[Connection, None]):
    """Strawberry's ASGI view, used for its websocket protocol handlers only.

    Args:
        schema: the strawberry schema (the handlers want one).
        operations: runs each operation down the gateway's steps.
        authenticator: checks credentials; ``None`` lets every connection in.
    """

    graphql_transport_ws_handler_class = _TransportWSHandler
    graphql_ws_handler_class = _LegacyWSHandler

    def __init__(
        self,
        schema: strawberry.Schema,
        *,
        operations: WebSocketOperations,
        authenticator: Authenticator | None,
    ) -> None:
        super().__init__(schema, graphql_ide=None)
        self.operations = operations
        self.authenticator = authenticator

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Connection:
        assert isinstance(request, WebSocket)
        connection = Connection(request)
        if self.authenticator is not None and credential_headers(dict(request.headers)):
            # Server clients authenticate on the upgrade; a bad credential is refused
            # at connection_init with its reason.
            with contextlib.suppress(AuthError):
                connection.identity = self.authenticator.authenticate(request.headers)
        return connection

    def refusal(self, connection: Connection, params: Mapping[str, object]) -> str | None:
        """Why a connection may not go on, or ``None`` (its identity is then set)."""
        if self.authenticator is None or connection.identity is not None:
            return None
        try:
            identity = self.authenticator.authenticate(credential_headers(params))
        except AuthError as exc:
            return str(exc)
        if identity is None or not identity.scopes:
            # A close reason holds at most 123 bytes: this one fits.
            return (
                'authentication required: send {"Authorization": "Bearer <key>"} in '
                "connection_init or the upgrade's headers"
            )
        connection.identity = identity
        return None

    async def on_ws_connect(self, context: Connection) -> UnsetType | dict[str, object] | None:
        # Both handlers refuse before they get here; this keeps the door shut if one did not.
        reason = self.refusal(context, context.connection_params or {})
        if reason is not None:
            raise ConnectionRejectionError({"message": reason})
        return await super().on_ws_connect(context)


__all__ = ["Connection", "GatewayWebSocketView", "WebSocketOperations", "credential_headers"]
