"""The backends' settings: the core database, the bolt-ons' folder, pool and resilience.

Each code plugin's own group (URL, credential, timeout) lives with the plugin
(``plugins/``) and is composed into ``Settings`` beside this one.

Read by ``gateway.backends`` (``Backends.from_settings``), the one place
adapters are built; the adapters themselves take plain arguments and know
no settings. Imports nothing of the gateway but ``gateway.shared_settings``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator

from gateway.shared_settings import name_value_pairs

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


class BackendSettings(BaseModel):
    """Backends: the core database, the declared bolt-ons, the bolt-ons' pool and resilience."""

    core_database_url: str = Field(
        default=DEFAULT_CORE_DATABASE_URL,
        description="SQLAlchemy URL of the core database (sqlite+aiosqlite or postgresql+asyncpg); "
        "the default is `core.db` in the checkout's `.gateway/` folder (installed: "
        "`~/.local/share/boltgate/`), wherever the command runs from.",
    )
    core_pool_size: int = Field(
        default=10,
        ge=1,
        description="Core connection pool size; on PostgreSQL the reads have an asyncpg pool "
        "of at most this size of their own beside it (opened on demand), so a worker holds "
        "up to twice this many connections.",
    )
    core_statement_timeout: float = Field(
        default=10.0, gt=0, description="Seconds a core query may run."
    )
    core_sqlite_inline: bool = Field(
        default=True,
        description="A SQLite core's statements run on the event loop, not in aiosqlite's "
        "thread (adapters/core/sqlite_inline.py); false: through aiosqlite. "
        "PostgreSQL is not affected.",
    )

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
    http_connect_timeout: float = Field(
        default=0.5, gt=0, description="Seconds to open a connection to a bolt-on."
    )
    http_read_timeout: float | None = Field(
        default=None, gt=0, description="Seconds one attempt waits for a response (default: all)."
    )

    # Resilience of every bolt-on call: retries, circuit breaker, bulkhead.
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
        default_factory=dict,
        description="Concurrent calls per bolt-on (a missing service: http_max_connections).",
    )
    bulkhead_max_wait: float = Field(
        default=0.5, gt=0, description="Seconds a call waits for a bulkhead slot."
    )

    @field_validator("bulkhead_limits", mode="before")
    @classmethod
    def _bulkhead_pairs(cls, value: Any) -> Any:
        return name_value_pairs(value)

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
