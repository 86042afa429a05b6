"""A bolt-on written in Python: one unit the gateway registers, like a declared one.

A declaration (``gateway.bolt_ons.declaration``) covers a partner whose
answers join the core as they are. When only code can do the job (a value
computed from core and bolt-on data, like ``Price.marginPct``; a write, like
``shipOrder``; an event feed, like the CRM's) the bolt-on is a
``BoltOnPlugin``: everything the gateway's shared machinery needs to know of
it, in one object, so nothing else lists bolt-ons by name. The machinery
iterates the registered plugins (``plugins.BUILT_IN``) for:

- the adapter (``Backends``), with the shared pool, retries, breaker,
  bulkhead, observers, metrics and traces of ``HttpBackend``;
- its settings group (URL, credential, timeout), composed into ``Settings``;
- its DataLoaders (``gateway.loaders``), through the bolt-on cache;
- its cached reads, their default lifetime, which core changes make them
  stale, and whether the gateway writes to it (the response cache's rules);
- the fields it adds: their cost and their scopes;
- ``/readyz``, ``gateway check`` and ``gateway bolt-ons list`` (its probe);
- its simulator (``gateway simulators``, ``gateway demo``, the tests).

Its GraphQL types and resolvers live with the schema (``schema/``,
``resolvers/``); its writes with the use cases (``gateway.writes``).

This module imports only ``adapters`` and ``gateway.caching.bolt_on``: the
gateway's modules (declarations included) may import the registry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel
from starlette.types import ASGIApp

from adapters.errors import BackendError
from adapters.http import HttpBackend
from gateway.caching.bolt_on import BoltOnCache, Fetch, Operation, StaleSink

A = TypeVar("A", bound=HttpBackend)

#: A batch function: one value per key, in key order.
BatchFunction = Callable[[list[Any]], Awaitable[Sequence[Any]]]
#: Builds a request's batch function from the plugin's adapter, the bolt-on cache
#: (``None`` when caching is off) and where answers served stale are reported.
LoaderFactory = Callable[[Any, BoltOnCache | None, StaleSink], BatchFunction]
#: Builds the adapter: ``(settings, options)``, the options being the shared
#: ``HttpBackend`` keywords (timeouts, resilience, pool size).
AdapterFactory = Callable[[Any, dict[str, Any]], HttpBackend]


@dataclass(frozen=True)
class PluginLoader:
    """One per-request DataLoader of a plugin.

    Attributes:
        read: the read mark its batches make (``service.operationId``).
        build: makes a request's batch function.
        metric: its label on the loader metrics (``gateway_loader_batch_size``).
    """

    read: str
    build: LoaderFactory
    metric: str


class SimulatorFactory(Protocol):
    """Builds a plugin's simulator: the ASGI app and its state (knobs, counters)."""

    def __call__(self, secret: str, *, seed: int, seeded_orders: int) -> tuple[ASGIApp, Any]: ...


@dataclass(frozen=True)
class BoltOnPlugin:
    """Everything the gateway needs to know of one bolt-on written in Python.

    Attributes:
        name: the service name (``extensions.service``, metrics, settings prefix).
        title: how people call it (``Pricing``).
        contract: the file name of the partner's OpenAPI contract it follows.
        settings: its settings group, composed into ``Settings``; its fields
            ``<name>_url`` and ``<name>_timeout`` are read by the wiring.
        credential_setting: the field of ``settings`` holding its secret.
        build_adapter: makes its adapter from the settings and the shared options.
        build_simulator: makes its simulator, checking the given secret.
        demo_port: the port of the contract's server, where the demo serves it.
        reads: its reads the bolt-on cache holds.
        uncached_reads: read marks (``crm.listAccountActivities``) of reads the
            bolt-on cache does not hold (a cached response that made one lives
            no longer than the service's TTL).
        variants: per read the variants (currencies) invalidations always cover.
        stale_on_change: per core type, the reads a committed change of one
            of its entities makes stale.
        written: the gateway writes to it, so a committed write makes the
            responses that read it stale.
        cache_ttl: fresh seconds of its reads unless ``cache_ttls`` says otherwise.
        costly_fields: the ``(type, field)`` pairs that call it (weight
            ``bolt_on_field_cost`` in the query cost).
        field_scopes: the scope each of its protected fields needs.
        loaders: its per-request DataLoaders by attribute name on ``Loaders``.
    """

    name: str
    title: str
    contract: str
    settings: type[BaseModel]
    credential_setting: str
    build_adapter: AdapterFactory
    build_simulator: SimulatorFactory
    demo_port: int
    reads: tuple[Operation[Any], ...] = ()
    uncached_reads: tuple[str, ...] = ()
    variants: Mapping[str, frozenset[str]] = field(default_factory=dict)
    stale_on_change: Mapping[str, tuple[Operation[Any], ...]] = field(default_factory=dict)
    written: bool = False
    cache_ttl: float = 0.0
    costly_fields: frozenset[tuple[str, str]] = frozenset()
    field_scopes: Mapping[tuple[str, str], str] = field(default_factory=dict)
    loaders: Mapping[str, PluginLoader] = field(default_factory=dict)

    @property
    def url_setting(self) -> str:
        return f"{self.name}_url"

    @property
    def timeout_setting(self) -> str:
        return f"{self.name}_timeout"

    @property
    def credential_variable(self) -> str:
        """The environment variable of its secret (``GATEWAY_PRICING_TOKEN``)."""
        return f"GATEWAY_{self.credential_setting.upper()}"

    def url(self, settings: object) -> str:
        value: str = getattr(settings, self.url_setting)
        return value

    def secret(self, settings: object) -> str | None:
        """Its credential from the settings, or ``None`` when not set."""
        value = getattr(settings, self.credential_setting)
        return value.get_secret_value() if value is not None else None

    def read_labels(self) -> tuple[str, ...]:
        """Every read mark of this bolt-on, cached or not."""
        return (*(op.label for op in self.reads), *self.uncached_reads)


class HasBoltOns(Protocol):
    """What holds the process's bolt-on adapters (``gateway.backends.Backends``)."""

    def bolt_on(self, name: str) -> HttpBackend: ...


def adapter_of(holder: HasBoltOns, name: str, kind: type[A]) -> A:
    """The adapter of bolt-on ``name``, checked to be a ``kind`` (its plugin's typed access)."""
    adapter = holder.bolt_on(name)
    if not isinstance(adapter, kind):
        raise TypeError(f"the {name} bolt-on's adapter is a {type(adapter).__name__}")
    return adapter


async def per_key(calls: Iterable[Awaitable[Any]]) -> list[Any]:
    """Run one call per key concurrently; a backend error stays in its key's slot.

    One failing key costs only itself; anything but a ``BackendError`` is raised.
    """
    results = await asyncio.gather(*calls, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, BackendError):
            raise result
    return results


def cached_loader(
    op: Operation[Any], fetch_of: Callable[[Any], Fetch], *, metric: str
) -> PluginLoader:
    """The loader of a batch read held in the bolt-on cache: ``fetch_of(adapter)`` is its fetch."""

    def build(adapter: Any, cache: BoltOnCache | None, stale: StaleSink) -> BatchFunction:
        fetch = fetch_of(adapter)

        def batch(keys: list[str]) -> Awaitable[Sequence[Any]]:
            return cached_or_direct(cache, op, keys, fetch, stale)

        return batch

    return PluginLoader(op.label, build, metric)


def cached_or_direct(
    cache: BoltOnCache | None,
    op: Operation[Any],
    keys: list[str],
    fetch: Fetch,
    on_stale: StaleSink,
    *,
    variant: str = "",
) -> Awaitable[Sequence[Any]]:
    """Read ``keys`` through the bolt-on cache when there is one, else straight from ``fetch``."""
    if cache is None:
        return fetch(keys)
    return cache.get_many(op, keys, fetch, variant=variant, on_stale=on_stale)


__all__ = [
    "AdapterFactory",
    "BatchFunction",
    "BoltOnPlugin",
    "HasBoltOns",
    "LoaderFactory",
    "PluginLoader",
    "SimulatorFactory",
    "adapter_of",
    "cached_loader",
    "cached_or_direct",
    "per_key",
]
