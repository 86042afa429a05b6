"""The per-request context every resolver receives as ``info.context``."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.types import Info

from gateway.backends import Backends
from gateway.loaders import Loaders
from gateway.settings import Settings
from gateway.writes.services import WriteServices


@dataclass
class Context:
    """What one request may use: settings, adapters, and its own DataLoaders.

    Loaders are built on first use, so a request that touches no relation
    pays nothing for them.
    """

    settings: Settings
    backends: Backends
    request_id: str
    request: Request | WebSocket | None = None
    client_id: str = "anonymous"
    # Set by the endpoint from the caller's identity; the permission layer reads them.
    scopes: frozenset[str] = field(default_factory=frozenset)
    #: graphql-transport-ws ``connection_init`` payload (strawberry sets it).
    connection_params: dict[str, object] | None = None
    cost: int | None = None  # the operation's computed cost (gateway.limits.cost)
    extensions: dict[str, object] = field(default_factory=dict)
    # The write side (writer, live events, change hooks); None where nothing writes.
    writes: WriteServices | None = None

    @cached_property
    def loaders(self) -> Loaders:
        return Loaders(self.backends, extensions=self.extensions)


GatewayInfo = Info[Context, None]
