"""The settings of access control: clients, JWTs, trusted documents (APQ), CORS.

Read by ``Authenticator.from_settings``, ``PersistedQueries.from_settings``,
``cors_options`` and the configuration reload. Imports only
``gateway.security.clients`` and ``gateway.shared_settings``; this package's
``__init__`` does not import it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from gateway.security.clients import ClientConfig
from gateway.shared_settings import SharedSettings, comma_separated


class SecuritySettings(SharedSettings):
    """Access control: clients and their keys, JWTs, persisted queries, CORS."""

    clients: list[ClientConfig] = Field(
        default_factory=list, description="Partner clients: id, scopes, key_hashes, revoked."
    )
    anonymous_scopes: list[str] = Field(
        default_factory=list, description="Scopes of unauthenticated requests (default: none)."
    )
    jwt_hs256_secret: SecretStr | None = Field(
        default=None, description="Shared secret accepted for HS256 JWTs."
    )
    jwt_rs256_public_key: str | None = Field(
        default=None, description="PEM public key accepted for RS256 JWTs."
    )
    jwt_audience: str | None = Field(default=None, description="Required JWT `aud`.")
    jwt_issuer: str | None = Field(default=None, description="Required JWT `iss`.")
    jwt_leeway_seconds: float = Field(default=30.0, ge=0, description="Clock skew for exp/nbf.")
    config_reload_interval: float = Field(
        default=2.0,
        ge=0,
        description="Seconds between two looks at the settings file: when it changed, its "
        "clients and JWT settings are reloaded without a restart (as on SIGHUP); 0: SIGHUP only.",
    )
    apq_enabled: bool = Field(default=True, description="Automatic persisted queries (APQ).")
    apq_max_entries: int = Field(default=10_000, ge=1, description="APQ documents kept in memory.")
    apq_key_prefix: str = Field(default="gw:apq:", description="Redis key prefix of APQ entries.")
    persisted_documents_dir: Path | None = Field(
        default=None, description="Folder of registered .graphql operations (allowlist)."
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed by CORS (none: no CORS headers)."
    )
    cors_allow_credentials: bool = Field(
        default=False, description="Allow credentialed CORS (never with a wildcard origin)."
    )
    cors_allow_headers: list[str] = Field(
        default_factory=list,
        description="Request headers browsers may send cross-origin beyond the built-in ones "
        "(credentials, tracing, Apollo's client awareness: see the README); `*` allows any.",
    )

    @field_validator("cors_allow_credentials")
    @classmethod
    def _cors_pair(cls, value: bool, info: ValidationInfo) -> bool:
        if value and "*" in info.data.get("cors_origins", ()):
            raise ValueError("cannot be true while cors_origins holds the wildcard '*'")
        return value

    @field_validator("anonymous_scopes", "cors_origins", "cors_allow_headers", mode="before")
    @classmethod
    def _security_lists(cls, value: Any) -> Any:
        return comma_separated(value)

    @field_validator("clients", mode="before")
    @classmethod
    def _clients_shape(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError(
                'must be a JSON array of clients ([{"id": ..., "scopes": [...], '
                '"key_hashes": [...]}]); or use [[clients]] tables in the TOML file'
            )
        return value
