"""The set of adapters one gateway process talks to, opened and closed together."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from adapters.core import CoreAdapter
from adapters.http import HttpBackend
from adapters.observe import CallObserver
from adapters.resilience import Bulkhead, CircuitBreaker, Resilience, RetryPolicy, StateCallback
from gateway.backends_settings import BackendSettings
from gateway.bolt_ons.adapter import DeclaredAdapter
from gateway.bolt_ons.declaration import Declaration, load_declarations
from gateway.bolt_ons.loading import cache_operation, stale_on_change
from gateway.caching.bolt_on import (
    BoltOnCache,
    CachePolicy,
    MemoryStorage,
    Operation,
    RedisStorage,
    fresh_ttl,
)
from gateway.caching.settings import CachingSettings
from gateway.settings import Settings
from plugins import BUILT_IN
from plugins.base import BoltOnPlugin


@dataclass
class Backends:
    """The adapters of the core and the bolt-ons, entered on one exit stack.

    Example:
        >>> async with Backends.from_settings(settings) as backends:
        ...     await backends.core.ping()
    """

    core: CoreAdapter
    #: The adapter of each code plugin (``plugins.BUILT_IN``), by service name.
    built_in: dict[str, HttpBackend] = field(default_factory=dict)
    #: Cross-request cache of bolt-on reads; ``None``: every read goes to the bolt-on.
    cache: BoltOnCache | None = None
    #: The declared bolt-ons (``bolt_ons_dir``) and their adapters, by service name.
    declarations: tuple[Declaration, ...] = ()
    declared: dict[str, DeclaredAdapter] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._stack = AsyncExitStack()

    @classmethod
    def from_settings(
        cls, settings: Settings, *, on_circuit_change: StateCallback | None = None
    ) -> Backends:
        """The adapters the settings describe, each with its timeouts, retries,
        circuit breaker and bulkhead; and the bolt-on cache unless turned off.

        Args:
            on_circuit_change: told ``(service, state)`` whenever a breaker
                changes state (``gateway.observability.metrics.set_circuit_state``).
        """
        pool = settings.http_max_connections

        def http(service: str, timeout: float) -> dict[str, Any]:
            return {
                "timeout": timeout,
                "connect_timeout": settings.http_connect_timeout,
                "read_timeout": settings.http_read_timeout,
                "resilience": resilience(settings, service, timeout, on_circuit_change),
            }

        backends = cls(
            core=CoreAdapter(
                settings.core_database_url,
                pool_size=settings.core_pool_size,
                statement_timeout=settings.core_statement_timeout,
                sqlite_inline=settings.core_sqlite_inline,
            ),
            built_in={
                plugin.name: plugin.build_adapter(
                    settings,
                    {
                        "max_connections": pool,
                        **http(plugin.name, getattr(settings, plugin.timeout_setting)),
                    },
                )
                for plugin in BUILT_IN
            },
            declarations=load_declarations(settings.bolt_ons_dir),
        )
        for declaration in backends.declarations:
            backends.declared[declaration.name] = DeclaredAdapter(
                declaration,
                max_connections=pool,
                **http(declaration.name, declaration.timeout),
            )
        if settings.cache_enabled:
            backends.cache = _bolt_on_cache(settings, backends)
        return backends

    @property
    def bolt_ons(self) -> tuple[HttpBackend, ...]:
        """The adapter of every bolt-on: the code plugins', then the declared ones."""
        return (*self.built_in.values(), *self.declared.values())

    def bolt_on(self, name: str) -> HttpBackend:
        """The adapter of the bolt-on called ``name`` (a code plugin's or a declared one's)."""
        adapter = self.built_in.get(name) or self.declared.get(name)
        if adapter is None:
            raise KeyError(f"no bolt-on named {name!r}")
        return adapter

    def __getattr__(self, name: str) -> Any:
        # ``backends.pricing``: a code plugin's adapter by its name (tests, the REPL).
        built_in = self.__dict__.get("built_in")
        if built_in is not None and name in built_in:
            return built_in[name]
        raise AttributeError(name)

    @property
    def breakers(self) -> dict[str, CircuitBreaker]:
        """The circuit breaker of each bolt-on that has one, by service name."""
        found: dict[str, CircuitBreaker] = {}
        for adapter in self.bolt_ons:
            if adapter.resilience.breaker is not None:
                found[adapter.service] = adapter.resilience.breaker
        return found

    def add_observer(self, observer: CallObserver) -> None:
        """Tell ``observer`` of every bolt-on call (the core is watched through its engine)."""
        for adapter in self.bolt_ons:
            if observer not in adapter.observers:
                adapter.observers.append(observer)

    async def __aenter__(self) -> Self:
        await self._stack.enter_async_context(self.core)
        for adapter in self.bolt_ons:
            await self._stack.enter_async_context(adapter)
        if self.cache is not None:
            self._stack.push_async_callback(self.cache.aclose)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._stack.aclose()


def resilience(
    settings: BackendSettings, service: str, timeout: float, on_change: StateCallback | None
) -> Resilience:
    """Retry policy, breaker and bulkhead of one bolt-on, from the settings."""
    return Resilience(
        service,
        retry=RetryPolicy(
            attempts=settings.retry_attempts,
            base_delay=settings.retry_base_delay,
            max_delay=settings.retry_max_delay,
            max_retry_after=settings.retry_max_retry_after,
        ),
        breaker=CircuitBreaker(
            service,
            failure_threshold=settings.breaker_failure_threshold,
            failure_rate=settings.breaker_failure_rate,
            window=settings.breaker_window,
            reset_timeout=settings.breaker_reset_timeout,
            on_state_change=on_change,
        ),
        bulkhead=Bulkhead(
            service,
            limit=settings.bulkhead_limits.get(service, settings.http_max_connections),
            max_wait=settings.bulkhead_max_wait,
        ),
        total_timeout=timeout,
    )


def cache_policies(
    settings: CachingSettings,
    declarations: tuple[Declaration, ...] = (),
    plugins: tuple[BoltOnPlugin, ...] = BUILT_IN,
) -> dict[str, CachePolicy]:
    """The cache policy of each cacheable operation: TTL by ``service.operation``, else service.

    A declared bolt-on's fields take its ``cache_ttl`` and ``stale_on_error``, a
    code plugin's reads its ``cache_ttl`` (``cache_ttls`` may name the service or
    operation of either).
    """
    policies: dict[str, CachePolicy] = {}
    for declaration in declarations:
        for declared in declaration.fields:
            policies[cache_operation(declared).label] = CachePolicy(
                ttl=declaration.fresh_ttl(declared, settings.cache_ttls),
                stale_ttl=settings.cache_stale_ttl,
                stale_on_error=declaration.stale_on_error
                or declaration.name in settings.cache_stale_on_error,
                stale_while_revalidate=declaration.name in settings.cache_stale_while_revalidate,
            )
    for plugin in plugins:
        for op in plugin.reads:
            policies[op.label] = CachePolicy(
                ttl=fresh_ttl(settings.cache_ttls, op.label, plugin.cache_ttl),
                stale_ttl=settings.cache_stale_ttl,
                stale_on_error=op.service in settings.cache_stale_on_error,
                stale_while_revalidate=op.service in settings.cache_stale_while_revalidate,
            )
    return policies


def _bolt_on_cache(settings: CachingSettings, backends: Backends) -> BoltOnCache:
    """In memory by default; in Redis, shared by every instance, when ``redis_url`` is set."""
    storage = (
        RedisStorage(settings.redis_url) if settings.redis_url is not None else MemoryStorage()
    )
    return BoltOnCache(
        storage,
        cache_policies(settings, backends.declarations),
        credentials={adapter.service: adapter.credential_id for adapter in backends.bolt_ons},
        namespace=settings.cache_namespace,
        variants={label: v for plugin in BUILT_IN for label, v in plugin.variants.items()},
        # What a committed change of a core entity makes stale: the plugins' reads, then
        # the declared fields keyed by that type's business key.
        stale_on_change=_merged(
            *(plugin.stale_on_change for plugin in BUILT_IN),
            stale_on_change(backends.declarations),
        ),
    )


def _merged(
    *maps: Mapping[str, tuple[Operation[Any], ...]],
) -> dict[str, tuple[Operation[Any], ...]]:
    merged: dict[str, tuple[Operation[Any], ...]] = {}
    for mapping in maps:
        for type_name, ops in mapping.items():
            merged[type_name] = (*merged.get(type_name, ()), *ops)
    return merged
