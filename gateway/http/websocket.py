"""Strawberry's view, kept for what it does well: graphql-transport-ws and GraphiQL.

Plain HTTP GraphQL goes through ``gateway.http.endpoint``; this view serves
websocket subscriptions with the same per-request ``Context`` and renders
the offline GraphiQL page.

A websocket carries its credential in the upgrade request's headers (server
clients) or in the ``connection_init`` payload (browsers cannot set headers
on an upgrade): ``{"Authorization": "Bearer <key>"}`` or ``{"X-Api-Key": ...}``.
A connection with neither is closed at ``connection_init`` with 4403.
"""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UnsetType

from gateway.context import Context
from gateway.http.graphiql import OfflineGraphQL
from gateway.security.auth import Authenticator, identity_or_none

_CREDENTIAL_PARAMS = ("authorization", "x-api-key")


class GatewayGraphQLView(OfflineGraphQL):
    """Websocket subscriptions and the GraphiQL page, sharing our ``Context``."""

    def __init__(
        self,
        schema: strawberry.Schema,
        *,
        make_context: Callable[[Request | WebSocket], Context],
        authenticator: Authenticator,
    ) -> None:
        super().__init__(schema)
        self._make_context = make_context
        self._authenticator = authenticator

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        return self._make_context(request)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        if context.scopes:
            return await super().on_ws_connect(context)  # the upgrade headers identified it
        params = context.connection_params or {}
        headers = {
            key.lower(): value
            for key, value in params.items()
            if isinstance(value, str) and key.lower() in _CREDENTIAL_PARAMS
        }
        identity = identity_or_none(self._authenticator, headers) if headers else None
        if identity is None or not identity.scopes:
            raise ConnectionRejectionError(
                {"message": "a valid API key or token is required (headers or connection_init)"}
            )
        context.client_id, context.scopes = identity.client_id, identity.scopes
        return await super().on_ws_connect(context)

    def ide_response(self, request: Request) -> Response:
        return self.graphiql_response()
