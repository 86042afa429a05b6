"""The gateway's one typed settings object.

Read once at the edge (CLI or app factory) from ``GATEWAY_*`` environment
variables and an optional TOML file, then passed down. Nothing else in the
gateway reads ``os.environ``. Tests build ``Settings(...)`` directly.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from gateway.security.clients import ClientConfig

#: The documented default: ``core.db`` in the data folder (``data_dir``), not the current one.
DEFAULT_CORE_DATABASE_URL = "sqlite+aiosqlite:///.gateway/core.db"


def data_dir() -> Path:
    """Where the gateway keeps its own files: the embedded core, the demo's credentials.

    ``.gateway/`` of the source checkout the gateway runs from (what
    ``python3 dev.py demo`` uses), else ``$XDG_DATA_HOME/boltgate`` (by default
    ``~/.local/share/boltgate``). Absolute either way: ``gateway check`` run
    from another folder finds the same database as the demo.
    """
    checkout = Path(__file__).resolve().parent.parent
    pyproject = checkout / "pyproject.toml"
    if pyproject.is_file() and 'name = "boltgate"' in pyproject.read_text(encoding="utf-8"):
        return checkout / ".gateway"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "boltgate"


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
        description="SQLAlchemy URL of the core database (sqlite+aiosqlite or postgresql+asyncpg); "
        "the default is `core.db` in the checkout's `.gateway/` folder (installed: "
        "`~/.local/share/boltgate/`), wherever the command runs from.",
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

    bolt_ons_dir: Path | None = Field(
        default=Path("bolt-ons"),
        description=(
            "Folder of declared bolt-ons (*.toml beside their OpenAPI contracts), read at "
            "start-up; a missing folder declares none (docs/bolt-ons.md)."
        ),
    )

    http_max_connections: int = Field(
        default=64, ge=1, description="Keep-alive pool size per bolt-on client."
    )

    redis_url: str | None = Field(
        default=None, description="Redis URL for shared cache, rate limits and events."
    )

    compiled_execution: bool = Field(
        default=True,
        description="Run known queries from a compiled plan (the same results as graphql-core's "
        "executor with less work per field); false runs every operation on graphql-core.",
    )
    compiled_plans: int = Field(
        default=512, ge=1, description="How many compiled query plans a process keeps."
    )
    batch_max_operations: int = Field(
        # Apollo's BatchHttpLink sends at most 10 by default: it works unconfigured.
        default=10,
        ge=0,
        le=100,
        description="Most operations one batched POST (a JSON array) may hold; 0 refuses "
        "batches. Each operation is authorized, costed and rate-limited as if sent alone.",
    )
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest request body, bytes."
    )
    max_header_bytes: int = Field(
        default=32_768,
        ge=1024,
        description="Largest request head (request line and headers together), bytes; a "
        "larger one is answered 431 and the connection closed, before it is read whole.",
    )
    max_headers: int = Field(
        default=100, ge=10, description="Most header lines a request may carry (more: 431)."
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
    http_implementation: Literal["auto", "httptools", "h11"] = Field(
        default="auto",
        description="`gateway serve`'s HTTP/1.1 parser: `auto` is httptools when installed, "
        "else h11. Either is held to `max_header_bytes`.",
    )

    # --- observability (metrics, tracing, logs, lifecycle) ---
    log_format: Literal["json", "text"] | None = Field(
        default=None,
        description="Log line format; default: `json` in production, `text` in development.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Lowest log level written."
    )
    access_log: bool = Field(
        default=True, description="Write one structured log line per HTTP request."
    )
    metrics_enabled: bool = Field(
        default=True, description="Serve Prometheus metrics at `/metrics`."
    )
    tracing_enabled: bool = Field(
        default=False, description="Record OpenTelemetry spans and send W3C `traceparent`."
    )
    tracing_exporter: Literal["otlp", "console", "none"] = Field(
        default="otlp",
        description="Where spans go when tracing is on; `otlp` needs the `otlp` extra.",
    )
    tracing_otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP traces URL; default: the exporter's own (OTEL_EXPORTER_OTLP_*).",
    )
    tracing_service_name: str = Field(
        default="boltgate-gateway", description="`service.name` of the spans."
    )
    tracing_sample_ratio: float = Field(
        default=1.0, ge=0.0, le=1.0, description="Share of new traces recorded (0..1)."
    )
    shutdown_grace_seconds: float = Field(
        default=30.0,
        gt=0,
        description="On SIGTERM, seconds in-flight requests get to finish before being cut.",
    )
    readiness_cache_seconds: float = Field(
        default=1.0,
        ge=0,
        description="Seconds `/readyz` reuses each backend's probe result (0: probe every call).",
    )
    http_keep_alive_seconds: int = Field(
        default=5,
        ge=1,
        le=3600,
        description=(
            "Seconds `gateway serve` keeps an idle client connection open; behind a load "
            "balancer, more than its idle timeout for upstream connections."
        ),
    )
    shutdown_drain_delay_seconds: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description=(
            "On SIGTERM, seconds the instance keeps accepting and serving while `/readyz` "
            "answers 503, so a load balancer's health check can take it out first (0: none)."
        ),
    )

    # --- access control and limits (issue 5: auth, scopes, query limits, rate limits, APQ) ---
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
    max_query_depth: int = Field(default=12, ge=1, description="Deepest selection accepted.")
    max_query_aliases: int = Field(default=30, ge=0, description="Most aliases in a document.")
    max_query_tokens: int = Field(default=2000, ge=10, description="Most tokens in a document.")
    max_fragment_spreads: int = Field(
        default=500,
        ge=0,
        description="Most fragment spreads an operation may expand to (a spread counts once "
        "for every place its fragment lands).",
    )
    max_field_merges: int = Field(
        default=2_000,
        ge=0,
        description="Most pairs of same-named fields (a field repeated, or selected again by "
        "fragments) a document may ask validation to check can be merged.",
    )
    max_query_cost: int = Field(default=50_000, ge=1, description="Highest computed cost run.")
    list_cost_estimate: int = Field(
        default=10, ge=1, description="Assumed length of a list field without `first`/`limit`."
    )
    bolt_on_field_cost: int = Field(
        default=10, ge=1, description="Cost of one bolt-on field (a core field costs 1)."
    )
    rate_limit_enabled: bool = Field(default=True, description="Cost-weighted rate limits.")
    rate_limit_burst: int = Field(
        default=200_000, ge=1, description="Cost a client may spend at once (bucket size)."
    )
    rate_limit_per_second: float = Field(
        default=2_000.0, gt=0, description="Cost a client's bucket regains per second."
    )
    rate_limit_key_prefix: str = Field(
        default="gw:rl:", description="Redis key prefix of the shared rate-limit buckets."
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

    # --- caching and resilience (issue 4: bolt-on cache, retries, breaker, bulkhead) ---
    cache_enabled: bool = Field(
        default=True, description="Cache bolt-on reads across requests (memory, or Redis)."
    )
    cache_namespace: str = Field(
        default="boltgate", description="First part of every cache key (shared Redis)."
    )
    cache_ttls: dict[str, float] = Field(
        default_factory=lambda: {"pricing": 60.0, "crm": 120.0, "shipping": 15.0},
        description="Fresh seconds per `service` or `service.operation`; 0 turns caching off.",
    )
    cache_stale_ttl: float = Field(
        default=600.0, ge=0, description="Seconds an expired entry is kept as a last good value."
    )
    cache_stale_on_error: list[str] = Field(
        default_factory=list,
        description="Services whose last good value is served (flagged) when they fail.",
    )
    cache_stale_while_revalidate: list[str] = Field(
        default_factory=list,
        description="Services whose expired entries are served while refreshed in the background.",
    )
    response_cache_enabled: bool = Field(
        default=False,
        description="Cache whole query responses in memory (per instance; see the README).",
    )
    response_cache_ttl: float = Field(
        default=5.0,
        gt=0,
        description="Longest seconds a cached response lives (also capped by `cache_ttls`).",
    )
    response_cache_include_core: bool = Field(
        default=False,
        description="Also cache responses that read the core (outside writes show after the TTL).",
    )
    response_cache_max_entries: int = Field(
        default=10_000, ge=1, description="Responses kept in memory per instance (LRU)."
    )
    response_cache_max_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1024,
        description="Response bytes kept in memory per instance; one above a tenth is not kept.",
    )
    response_cache_channel: str = Field(
        default="boltgate:response-cache",
        description="Redis channel on which instances announce invalidations.",
    )
    gc_tuning: bool = Field(
        default=True,
        description="Freeze the start-up heap; collect young garbage less often.",
    )
    gc_gen0_threshold: int = Field(
        default=7_000, ge=100, description="Allocations between young garbage collections."
    )
    http_connect_timeout: float = Field(
        default=0.5, gt=0, description="Seconds to open a connection to a bolt-on."
    )
    http_read_timeout: float | None = Field(
        default=None, gt=0, description="Seconds one attempt waits for a response (default: all)."
    )
    retry_attempts: int = Field(
        default=3, ge=1, description="Attempts of an idempotent bolt-on call (1: no retry)."
    )
    retry_base_delay: float = Field(default=0.05, ge=0, description="First backoff, seconds.")
    retry_max_delay: float = Field(default=1.0, ge=0, description="Largest backoff, seconds.")
    retry_max_retry_after: float = Field(
        default=2.0, ge=0, description="Longest Retry-After honoured; longer ones fail at once."
    )
    breaker_failure_threshold: int = Field(
        default=10,
        ge=1,
        description="Failed calls (after retries) within `breaker_window` before a circuit opens.",
    )
    breaker_failure_rate: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="Share of the calls within `breaker_window` that failed, to open a circuit.",
    )
    breaker_window: float = Field(
        default=10.0, gt=0, description="Seconds of call outcomes a circuit breaker judges."
    )
    breaker_reset_timeout: float = Field(
        default=10.0, gt=0, description="Seconds a circuit stays open before a probe."
    )
    bulkhead_limits: dict[str, int] = Field(
        default_factory=lambda: {"pricing": 64, "crm": 64, "shipping": 64},
        description="Concurrent calls per bolt-on (a missing service: http_max_connections).",
    )
    bulkhead_max_wait: float = Field(
        default=0.5, gt=0, description="Seconds a call waits for a bulkhead slot."
    )

    # --- writes, outbox, events (issue 3: mutations, idempotency keys, outbox, subscriptions) ---
    idempotency_ttl: float = Field(
        default=86_400.0, gt=0, description="Seconds a client's Idempotency-Key is remembered."
    )
    idempotency_wait: float = Field(
        default=5.0, ge=0, description="Seconds a duplicate waits for its first request to end."
    )
    idempotency_lease: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a running request holds its Idempotency-Key without renewing it "
        "(it renews every third of that): a retry takes over the key of a request whose "
        "process died this long after its last renewal.",
    )
    outbox_dispatcher: bool = Field(
        default=True, description="Deliver outbox events to the CRM from this process."
    )
    outbox_poll_interval: float = Field(
        default=1.0, gt=0, description="Seconds between outbox rounds when idle."
    )
    outbox_batch_size: int = Field(default=50, ge=1, description="Events claimed per round.")
    outbox_max_attempts: int = Field(
        default=10, ge=1, description="Failed deliveries after which an event is `failed`."
    )
    outbox_backoff_base: float = Field(
        default=1.0, gt=0, description="Seconds before an event's first retry (then doubling)."
    )
    outbox_backoff_max: float = Field(
        default=300.0, gt=0, description="Longest wait between two deliveries of an event."
    )
    outbox_lease: float = Field(
        default=30.0, gt=0, description="Seconds a dispatcher's claim on an event lasts."
    )
    events_channel: str = Field(
        default="gateway:events", description="Redis pub/sub channel of live business events."
    )

    @field_validator("cors_allow_credentials")
    @classmethod
    def _cors_pair(cls, value: bool, info: ValidationInfo) -> bool:
        if value and "*" in info.data.get("cors_origins", ()):
            raise ValueError("cannot be true while cors_origins holds the wildcard '*'")
        return value

    @field_validator(
        "anonymous_scopes",
        "cors_origins",
        "cors_allow_headers",
        "cache_stale_on_error",
        "cache_stale_while_revalidate",
        mode="before",
    )
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        # GATEWAY_CORS_ORIGINS=http://localhost:3000 is what anyone tries first.
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("clients", mode="before")
    @classmethod
    def _clients_shape(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError(
                'must be a JSON array of clients ([{"id": ..., "scopes": [...], '
                '"key_hashes": [...]}]); or use [[clients]] tables in the TOML file'
            )
        return value

    @field_validator("cache_ttls", "bulkhead_limits", mode="before")
    @classmethod
    def _name_value_pairs(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        pairs: dict[str, str] = {}
        for item in value.split(","):
            name, equals, number = item.partition("=")
            if not equals or not name.strip():
                raise ValueError(
                    'must be a JSON object ({"pricing": 60}) '
                    "or name=value pairs (pricing=60,crm=120)"
                )
            pairs[name.strip()] = number.strip()
        return pairs

    @field_validator("core_database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value == DEFAULT_CORE_DATABASE_URL:
            return f"sqlite+aiosqlite:///{data_dir() / 'core.db'}"
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
        environment = _EnvironmentSource(settings_cls)
        sources: list[PydanticBaseSettingsSource] = [init_settings, environment]
        toml_path = _toml_path(init_settings, environment)
        if toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)


class _EnvironmentSource(EnvSettingsSource):
    """``GATEWAY_*`` variables; a list or object that is not JSON goes to the field as text.

    pydantic-settings fails on the first non-JSON value with a traceback that
    names no variable; the fields' own validators read the plain forms
    (``a,b``; ``pricing=60``) and refuse the rest with a message that does.
    """

    def decode_complex_value(self, field_name: str, field: FieldInfo, value: Any) -> Any:
        try:
            return super().decode_complex_value(field_name, field, value)
        except ValueError:
            return value


def _toml_path(*sources: PydanticBaseSettingsSource) -> Path | None:
    for source in sources:
        value: Any = source().get("config")
        if value:
            return Path(value)
    return None


class SettingsFileError(ValueError):
    """The TOML settings file cannot be read; the message names the file."""


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Read settings from the environment and an optional TOML file.

    Raises:
        pydantic.ValidationError: naming every bad key (``explain`` words it).
        FileNotFoundError: when the named TOML file does not exist.
        SettingsFileError: when it is not valid TOML.
    """
    if config is not None:
        if not config.is_file():
            raise FileNotFoundError(f"settings file not found: {config}")
        overrides["config"] = config
    toml_file = config_file(config)
    if toml_file is not None:
        read_toml(toml_file)  # its syntax errors, with the file's name
    return Settings(**overrides)


def config_file(config: Path | None, environ: Mapping[str, str] | None = None) -> Path | None:
    """The TOML file settings are read from: ``config``, else ``GATEWAY_CONFIG``."""
    if config is not None:
        return config
    value = _lookup(os.environ if environ is None else environ, "GATEWAY_CONFIG")
    return Path(value) if value else None


def read_toml(path: Path) -> dict[str, Any]:
    """The TOML file's table.

    Raises:
        FileNotFoundError: the file does not exist.
        SettingsFileError: it cannot be read or is not valid TOML.
    """
    if not path.is_file():
        raise FileNotFoundError(f"settings file not found: {path}")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SettingsFileError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsFileError(f"{path}: cannot be read: {exc}") from None


def _lookup(environ: Mapping[str, str], name: str) -> str | None:
    # pydantic-settings matches variable names without regard to case.
    for key, value in environ.items():
        if key.upper() == name:
            return value
    return None


def env_name(field: str) -> str:
    """``GATEWAY_PRICING_URL`` for ``pricing_url``."""
    return f"GATEWAY_{field.upper()}"


def explain(
    error: ValidationError,
    *,
    config: Path | None = None,
    environ: Mapping[str, str] | None = None,
    options: Mapping[str, str] | None = None,
) -> list[str]:
    """One line per invalid value, naming where it came from.

    Args:
        error: what ``Settings`` raised.
        config: the TOML file, if one was named on the command line.
        environ: the environment the settings were read from.
        options: command-line options by field (``{"port": "--port"}``).

    Example:
        >>> try:
        ...     Settings(crm_concurrency=0)
        ... except ValidationError as exc:
        ...     explain(exc, environ={})
        ['GATEWAY_CRM_CONCURRENCY: Input should be greater than or equal to 1']
    """
    environ = os.environ if environ is None else environ
    options = options or {}
    toml_file = config_file(config, environ)
    in_file: dict[str, Any] = {}
    if toml_file is not None:
        try:
            in_file = read_toml(toml_file)
        except (FileNotFoundError, SettingsFileError):
            in_file = {}
    lines: list[str] = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        rest = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in item["loc"][1:])
        message = item["msg"].removeprefix("Value error, ")
        if field in options:
            where = options[field]
        elif field and _lookup(environ, env_name(field)) is not None:
            where = env_name(field)
        elif field in in_file:
            where = f"{toml_file}: {field}"
        else:
            where = env_name(field) if field else "settings"
        if item["type"] == "extra_forbidden" and len(item["loc"]) == 1:
            guess = difflib.get_close_matches(field, Settings.model_fields, n=1)
            message = "not a setting" + (f" (did you mean {guess[0]}?)" if guess else "")
        lines.append(f"{where}{rest}: {message}")
    return lines


def unknown_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """A warning for each ``GATEWAY_*`` variable that is no setting (a typo is silently ignored).

    ``GATEWAY_TEST_*`` variables belong to the test suite, and
    ``GATEWAY_BOLT_ON_<NAME>_URL``/``_TIMEOUT``/``_CACHE_TTL`` to the declared
    bolt-ons (``gateway.bolt_ons.declaration``); they are left alone.
    """
    environ = os.environ if environ is None else environ
    known = {env_name(field) for field in Settings.model_fields}
    warnings: list[str] = []
    for key in sorted(environ):
        name = key.upper()
        if not name.startswith("GATEWAY_") or name in known:
            continue
        if name.startswith(("GATEWAY_TEST_", "GATEWAY_BOLT_ON_")):
            continue
        guess = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {guess[0]}?)" if guess else ""
        warnings.append(f"{key} is not a setting and is ignored{hint}")
    return warnings
