"""boltgate's gateway: one GraphQL endpoint over an ERP core and its bolt-ons.

The public face, for code that embeds or tests the gateway::

    from gateway import Settings, create_app

    app = create_app(Settings(core_database_url="postgresql+asyncpg://..."))

Everything else is reached through its wing (``gateway.http``,
``gateway.security``, ``gateway.limits``, ``gateway.caching``,
``gateway.writes``, ``gateway.observability``, ``gateway.execution``,
``gateway.cli``); the README's "Where things live" table maps them.

Names are imported on first use (PEP 562): ``gateway.app`` builds the
schema, whose types import ``gateway.context``, so an eager import here
would run in a circle.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.app import app_from_environment, create_app
    from gateway.context import Context, GatewayInfo
    from gateway.errors import ErrorCode, PublicError, RequestRejected, UserInputError
    from gateway.settings import Settings, load_settings

_WHERE = {
    "create_app": "gateway.app",
    "app_from_environment": "gateway.app",
    "Settings": "gateway.settings",
    "load_settings": "gateway.settings",
    "Context": "gateway.context",
    "GatewayInfo": "gateway.context",
    "ErrorCode": "gateway.errors",
    "PublicError": "gateway.errors",
    "RequestRejected": "gateway.errors",
    "UserInputError": "gateway.errors",
}

__all__ = [
    "Context",
    "ErrorCode",
    "GatewayInfo",
    "PublicError",
    "RequestRejected",
    "Settings",
    "UserInputError",
    "app_from_environment",
    "create_app",
    "load_settings",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'gateway' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
