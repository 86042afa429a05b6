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
    extensions: dict[str, object] = field(default_factory=dict)

    @cached_property
    def loaders(self) -> Loaders:
        return Loaders(self.backends)


GatewayInfo = Info[Context, None]
