"""The settings of the two caches: bolt-on answers, and whole query responses.

Read by ``Backends.from_settings`` (the bolt-on cache and its policies) and
``ResponseCache.from_settings``. Imports nothing of the gateway but
``gateway.shared_settings``; this package's ``__init__`` does not import it.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from gateway.shared_settings import SharedSettings, comma_separated, name_value_pairs


class CachingSettings(SharedSettings):
    """Caching: bolt-on answers across requests, and whole query responses."""

    cache_enabled: bool = Field(
        default=True, description="Cache bolt-on reads across requests (memory, or Redis)."
    )
    cache_namespace: str = Field(
        default="boltgate", description="First part of every cache key (shared Redis)."
    )
    cache_ttls: dict[str, float] = Field(
        default_factory=dict,
        description="Fresh seconds per `service` or `service.operation`; 0 turns caching off. "
        "One not named keeps its bolt-on's own: pricing 60, crm 120, shipping 15, a "
        "declaration's `cache_ttl`.",
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

    @field_validator("cache_stale_on_error", "cache_stale_while_revalidate", mode="before")
    @classmethod
    def _service_lists(cls, value: Any) -> Any:
        return comma_separated(value)

    @field_validator("cache_ttls", mode="before")
    @classmethod
    def _ttl_pairs(cls, value: Any) -> Any:
        return name_value_pairs(value)
