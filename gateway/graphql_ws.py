"""Strawberry's view, kept for what it does well: graphql-transport-ws and GraphiQL.

Plain HTTP GraphQL goes through ``gateway.graphql_http``; this view serves
websocket subscriptions with the same per-request ``Context`` and renders
the offline GraphiQL page.
"""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from gateway.context import Context
from gateway.graphiql import OfflineGraphQL


class GatewayGraphQLView(OfflineGraphQL):
    """Websocket subscriptions and the GraphiQL page, sharing our ``Context``."""

    def __init__(
        self,
        schema: strawberry.Schema,
        *,
        make_context: Callable[[Request | WebSocket], Context],
    ) -> None:
        super().__init__(schema)
        self._make_context = make_context

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        return self._make_context(request)

    def ide_response(self, request: Request) -> Response:
        return self.graphiql_response()
