"""The configured clients and the scopes they may be given.

A leaf module: ``gateway.settings`` reads ``[[clients]]`` into
``ClientConfig`` and ``gateway.security.auth`` checks credentials against
them; neither is imported here.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel, Field, field_validator

CORE_READ = "core:read"
INSIGHTS_READ = "insights:read"
MARGINS_READ = "margins:read"
ORDERS_WRITE = "orders:write"
CUSTOMERS_WRITE = "customers:write"
ALL_SCOPES: frozenset[str] = frozenset(
    {CORE_READ, INSIGHTS_READ, MARGINS_READ, ORDERS_WRITE, CUSTOMERS_WRITE}
)

KEY_PREFIX = "gwk_"
_HASH_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


#: A scope a declared bolt-on may name (``forecast:read``); checked against the
#: declarations when the app is built (``check_client_scopes``).
_DECLARABLE = re.compile(r"^[a-z][a-z0-9_.-]*:[a-z][a-z0-9_.-]*$")
_BUILT_IN_PREFIXES = frozenset(scope.partition(":")[0] + ":" for scope in ALL_SCOPES)


def _known_scopes(scopes: list[str]) -> list[str]:
    # A typo of a built-in scope is refused here; a bolt-on's scope once the declarations
    # are read (they are not known yet when the settings are).
    unknown = sorted(
        scope
        for scope in set(scopes) - ALL_SCOPES
        if not _DECLARABLE.match(scope) or scope.startswith(tuple(_BUILT_IN_PREFIXES))
    )
    if unknown:
        raise ValueError(f"unknown scopes {unknown}; known: {sorted(ALL_SCOPES)}")
    return scopes


def check_client_scopes(clients: Iterable[ClientConfig], declared: frozenset[str]) -> None:
    """Every client's scopes are built-in or declared by a bolt-on.

    Raises:
        ValueError: one line naming the client and the scope nobody declares.
    """
    known = ALL_SCOPES | declared
    for client in clients:
        for scope in client.scopes:
            if scope not in known:
                raise ValueError(
                    f"client {client.id!r} has scope {scope!r}, which neither the gateway "
                    f"nor a declared bolt-on defines (known: {', '.join(sorted(known))})"
                )


class ClientConfig(BaseModel):
    """One partner client as configured in ``[[clients]]``.

    Example:
        >>> ClientConfig(id="acme", scopes=["core:read"]).revoked
        False
    """

    model_config = {"extra": "forbid"}

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    scopes: list[str] = Field(default_factory=list)
    key_hashes: list[str] = Field(default_factory=list)
    revoked: bool = False
    allowlist_only: bool = Field(
        default=False, description="May run only the registered (persisted) documents."
    )

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: list[str]) -> list[str]:
        return _known_scopes(value)

    @field_validator("key_hashes")
    @classmethod
    def _hashes(cls, value: list[str]) -> list[str]:
        for item in value:
            if not _HASH_RE.match(item):
                raise ValueError("each key hash must be 'sha256:' and 64 lowercase hex digits")
        return value


def new_key() -> str:
    """A fresh API key (shown once, stored only as its hash)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The stored form of an API key: ``sha256:<hex>``.

    Keys are 256 random bits, so a fast hash is enough: there is nothing to
    brute-force that a slow hash would protect.
    """
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Identity:
    """The authenticated caller of one request."""

    client_id: str
    scopes: frozenset[str]
    method: str  # "api_key", "jwt" or "anonymous"
    allowlist_only: bool = False
