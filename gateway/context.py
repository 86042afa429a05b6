"""The per-operation context every resolver receives as ``info.context``."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from strawberry.types import Info

from gateway.backends import Backends
from gateway.loaders import Loaders
from gateway.security.clients import Identity
from gateway.settings import Settings

if TYPE_CHECKING:
    from gateway.writes.replay import WriteLog
    from gateway.writes.services import WriteServices

ANONYMOUS = Identity("anonymous", frozenset(), "anonymous")


@dataclass
class Context:
    """What one operation may use: settings, adapters, its caller, and its own DataLoaders.

    Loaders are built on first use, so an operation that touches no relation
    pays nothing for them.

    Attributes:
        identity: the caller, set once when the context is made.
        extensions: the response's ``extensions`` (answers served stale are
            listed under ``stale``).
        writes: the write side (writer, live events, change hooks); ``None``
            where nothing writes.
        idempotency: the committed writes of a request with an
            ``Idempotency-Key`` (``gateway.writes.replay``); ``None`` without one.
    """

    settings: Settings
    backends: Backends
    request_id: str
    identity: Identity = ANONYMOUS
    extensions: dict[str, object] = field(default_factory=dict)
    writes: WriteServices | None = None
    idempotency: WriteLog | None = None

    @property
    def client_id(self) -> str:
        return self.identity.client_id

    @property
    def scopes(self) -> frozenset[str]:
        return self.identity.scopes

    @cached_property
    def loaders(self) -> Loaders:
        return Loaders(self.backends, extensions=self.extensions)


GatewayInfo = Info[Context, None]


@dataclass(frozen=True, slots=True)
class ContextFactory:
    """Makes each operation's ``Context`` from the process's services and its caller."""

    settings: Settings
    backends: Backends
    writes: WriteServices | None = None

    def __call__(self, request_id: str, identity: Identity | None) -> Context:
        return Context(
            settings=self.settings,
            backends=self.backends,
            request_id=request_id,
            identity=identity or ANONYMOUS,
            writes=self.writes,
        )


__all__ = ["ANONYMOUS", "Context", "ContextFactory", "GatewayInfo"]
