"""The configured clients and the scopes they may be given.

A leaf module: ``gateway.settings`` reads ``[[clients]]`` into
``ClientConfig`` and ``gateway.security.auth`` checks credentials against
them; neither is imported here.
"""

from __future__ import annotations

import hashlib
import re
import secrets
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


def _known_scopes(scopes: list[str]) -> list[str]:
    unknown = sorted(set(scopes) - ALL_SCOPES)
    if unknown:
        raise ValueError(f"unknown scopes {unknown}; known: {sorted(ALL_SCOPES)}")
    return scopes


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
