"""The gateway's one typed settings object.

Read once at the edge (CLI or app factory) from ``GATEWAY_*`` environment
variables and an optional TOML file, then passed down. Nothing else in the
gateway reads ``os.environ``. Tests build ``Settings(...)`` directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_CORE_DATABASE_URL = "sqlite+aiosqlite:///.gateway/core.db"


class Settings(BaseSettings):
    """Everything an operator can configure.

    Example:
        >>> Settings(env="production", pricing_url="http://pricing:8101").env
        'production'
    """

    model_config = SettingsConfigDict(
        env_prefix="GATEWAY_",
        extra="forbid",
        validate_default=True,
    )

    # Where an optional TOML file was read from (``--config`` / ``GATEWAY_CONFIG``).
    config: Path | None = Field(default=None, description="Path of an optional TOML settings file.")

    env: Literal["development", "production"] = Field(
        default="development",
        description="`production` turns off GraphiQL and introspection unless enabled.",
    )

    core_database_url: str = Field(
        default=DEFAULT_CORE_DATABASE_URL,
        description="SQLAlchemy URL of the core database (sqlite+aiosqlite or postgresql+asyncpg).",
    )
    core_pool_size: int = Field(default=10, ge=1, description="Core connection pool size.")
    core_statement_timeout: float = Field(
        default=10.0, gt=0, description="Seconds a core query may run."
    )

    pricing_url: str = Field(
        default="http://127.0.0.1:8101", description="Pricing bolt-on base URL."
    )
    pricing_token: SecretStr | None = Field(default=None, description="Pricing bearer token.")
    pricing_timeout: float = Field(default=2.0, gt=0, description="Pricing call budget, seconds.")

    crm_url: str = Field(default="http://127.0.0.1:8102", description="CRM bolt-on base URL.")
    crm_api_key: SecretStr | None = Field(default=None, description="CRM X-Api-Key.")
    crm_timeout: float = Field(default=2.0, gt=0, description="CRM call budget, seconds.")
    crm_concurrency: int = Field(
        default=16, ge=1, description="Concurrent CRM calls per gateway process (no batch read)."
    )

    shipping_url: str = Field(
        default="http://127.0.0.1:8103", description="Shipping bolt-on base URL."
    )
    shipping_token: SecretStr | None = Field(default=None, description="Shipping bearer token.")
    shipping_timeout: float = Field(default=2.0, gt=0, description="Shipping call budget, seconds.")

    http_max_connections: int = Field(
        default=64, ge=1, description="Keep-alive pool size per bolt-on client."
    )

    redis_url: str | None = Field(
        default=None, description="Redis URL for shared cache, rate limits and events."
    )

    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest request body, bytes."
    )
    max_page_size: int = Field(default=100, ge=1, description="Largest `first` a list accepts.")
    default_page_size: int = Field(default=20, ge=1, description="`first` when a client omits it.")

    graphiql: bool | None = Field(
        default=None, description="Serve GraphiQL; default: on in development, off in production."
    )
    introspection: bool | None = Field(
        default=None, description="Allow introspection; default: on in development only."
    )

    host: str = Field(default="127.0.0.1", description="`gateway serve` bind address.")
    port: int = Field(default=8000, ge=0, le=65535, description="`gateway serve` port.")
    workers: int = Field(default=1, ge=1, description="`gateway serve` worker processes.")

    @field_validator("core_database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        # Accept the plain URLs operators copy from elsewhere and pick the async driver.
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("sqlite://") and not value.startswith("sqlite+"):
            return "sqlite+aiosqlite://" + value.split("://", 1)[1]
        if not (
            value.startswith("sqlite+aiosqlite://") or value.startswith("postgresql+asyncpg://")
        ):
            raise ValueError("must be a sqlite+aiosqlite:// or postgresql+asyncpg:// URL")
        return value

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql if self.graphiql is not None else self.env == "development"

    @property
    def introspection_enabled(self) -> bool:
        return self.introspection if self.introspection is not None else self.env == "development"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments, then environment, then the TOML file.
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_path = _toml_path(init_settings, env_settings)
        if toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)


def _toml_path(*sources: PydanticBaseSettingsSource) -> Path | None:
    for source in sources:
        value: Any = source().get("config")
        if value:
            return Path(value)
    return None


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Read settings from the environment and an optional TOML file.

    Raises:
        pydantic.ValidationError: naming every bad key.
        FileNotFoundError: when the named TOML file does not exist.
    """
    if config is not None:
        if not config.is_file():
            raise FileNotFoundError(f"settings file not found: {config}")
        overrides["config"] = config
    return Settings(**overrides)
