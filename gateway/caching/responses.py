"""Whole-response cache of queries: a repeated query is answered without running it.

Off unless ``response_cache_enabled``. Per process, in memory (an LRU of
encoded response bodies), because a hit must cost less than a Redis round
trip; instances keep each other's copies honest by broadcasting their
invalidations over Redis when ``GATEWAY_REDIS_URL`` is set.

What is cached, and for how long:

- Only queries whose response has no errors and no stale bolt-on answer.
- The key is the document text, the operation name, the variables (sorted
  JSON), the request's ``extensions`` and the caller's scopes: two clients
  with the same scopes share entries (the response depends on nothing else:
  the gateway calls the bolt-ons with its own credentials).
- While the query runs, ``adapters.reads`` records what it read. An entry
  lives ``response_cache_ttl`` seconds at most, and no longer than the
  shortest bolt-on cache TTL among the bolt-on operations it read (a TTL of 0
  there means: never cache such a response).
- A response that read the core is cached only when
  ``response_cache_include_core`` says so: the core is the system of record,
  and writes made to it outside the gateway are only seen when the entry
  expires.
- The gateway's own committed writes (``app.state.on_change``) drop every
  entry that read the core or a bolt-on that the write touches (the CRM
  receives the events, Shipping the shipments); entries that read only the
  Pricing bolt-on survive. A query that was running when a write committed
  does not store its answer (a generation counter).
- Concurrent identical misses run the query once (single flight): the others
  wait for the first and replay its answer, or run themselves if it could
  not be kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from adapters import reads
from adapters.reads import CORE
from gateway.caching.bolt_on import fresh_ttl
from gateway.caching.settings import CachingSettings
from gateway.events import RedisEventBus
from gateway.limits.rate import RateLimiter, charge
from gateway.loaders import STALE_EXTENSION
from gateway.observability.metrics import record_cache
from gateway.pipeline import Exchange, Handler, OperationOutcome, Outcome, Reply, Transport
from gateway.settings import Settings
from plugins import BUILT_IN

#: Read marks a committed write can make stale: the core, and the bolt-ons written to.
WRITE_SENSITIVE_PREFIXES = (CORE, *(f"{plugin.name}." for plugin in BUILT_IN if plugin.written))

CacheKey = tuple[str, str | None, bytes, bytes, frozenset[str]]
"""(document, operation name, variables JSON, extensions JSON, scopes)."""


@dataclass(frozen=True, slots=True)
class CachedResponse:
    """One stored response body and what is needed to replay it."""

    body: bytes
    expires_at: float  # time.monotonic()
    reads: frozenset[str]
    cost: int
    operation: str | None
    stored_at: float  # time.monotonic()

    def age(self) -> int:
        """Whole seconds since the response was stored (the ``Age`` header)."""
        return int(time.monotonic() - self.stored_at)

    def write_sensitive(self) -> bool:
        return any(read.startswith(WRITE_SENSITIVE_PREFIXES) for read in self.reads)


def cache_key(
    query: str,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    extensions: dict[str, Any] | None,
    scopes: frozenset[str],
) -> CacheKey:
    """The key of a request: everything its response depends on."""
    return (
        query,
        operation_name,
        orjson.dumps(variables, option=orjson.OPT_SORT_KEYS) if variables else b"",
        orjson.dumps(extensions, option=orjson.OPT_SORT_KEYS) if extensions else b"",
        scopes,
    )


class ResponseCache:
    """An LRU of whole query responses with per-entry TTLs (see the module docstring).

    Args:
        ttl: the longest an entry lives, in seconds.
        max_entries: entries kept; the least recently used go first.
        max_bytes: the most response bytes kept in all; a response larger
            than a tenth of it is never kept.
        include_core: also cache responses that read the core.
        read_ttls: per read mark (``pricing.listPrices``) its freshness in
            seconds; a mark missing here (or 0) makes a response uncacheable.

    Example:
        >>> cache = ResponseCache(ttl=5, read_ttls={"pricing.listPrices": 60})
        >>> key = cache_key("{ products { sku } }", None, None, None, frozenset())
        >>> cache.store(key, b'{"data":{}}', {"pricing.listPrices"}, cost=1, operation=None,
        ...             generation=cache.generation)
        True
        >>> cache.lookup(key).body
        b'{"data":{}}'
    """

    def __init__(
        self,
        *,
        ttl: float,
        max_entries: int = 10_000,
        max_bytes: int = 64 * 1024 * 1024,
        include_core: bool = False,
        read_ttls: dict[str, float] | None = None,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.size = 0  # bytes of the bodies kept
        self.include_core = include_core
        self.read_ttls = dict(read_ttls or {})
        self.generation = 0  # bumped by every invalidation
        self._entries: OrderedDict[CacheKey, CachedResponse] = OrderedDict()
        self._flights: dict[CacheKey, asyncio.Future[CachedResponse | None]] = {}

    @classmethod
    def from_settings(
        cls, settings: CachingSettings, bolt_on_ttls: Mapping[str, float] | None = None
    ) -> ResponseCache:
        """The response cache the settings describe (``response_cache_enabled`` is the caller's).

        ``bolt_on_ttls``: the fresh seconds of the declared bolt-ons' reads, by read
        mark (``forecast.batchGetForecasts``): a response lives no longer than they.
        """
        read_ttls = {
            label: fresh_ttl(settings.cache_ttls, label, plugin.cache_ttl)
            for plugin in BUILT_IN
            for label in plugin.read_labels()
        }
        read_ttls.update(bolt_on_ttls or {})
        return cls(
            ttl=settings.response_cache_ttl,
            max_entries=settings.response_cache_max_entries,
            max_bytes=settings.response_cache_max_bytes,
            include_core=settings.response_cache_include_core,
            read_ttls=read_ttls,
        )

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, key: CacheKey) -> CachedResponse | None:
        """The fresh entry of ``key``, or ``None``."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires_at <= time.monotonic():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry

    def lifetime(self, reads: Iterable[str]) -> float:
        """Seconds a response that read ``reads`` may be kept (0: not at all)."""
        lifetime = self.ttl
        for read in reads:
            if read == CORE:
                if not self.include_core:
                    return 0.0
                continue
            lifetime = min(lifetime, self.read_ttls.get(read, 0.0))
        return lifetime

    def store(
        self,
        key: CacheKey,
        body: bytes,
        reads: Iterable[str],
        *,
        cost: int,
        operation: str | None,
        generation: int,
    ) -> CachedResponse | None:
        """Keep ``body`` for ``key`` if it may be cached; return the entry kept, if any.

        ``generation`` is ``self.generation`` read before the query ran: a write
        committed since then may have changed what the response shows.
        """
        if generation != self.generation or len(body) > self.max_bytes // 10:
            return None
        read_set = frozenset(reads)
        lifetime = self.lifetime(read_set)
        if lifetime <= 0:
            return None
        now = time.monotonic()
        self._drop(key)
        entry = CachedResponse(body, now + lifetime, read_set, cost, operation, now)
        self._entries[key] = entry
        self.size += len(body)
        while len(self._entries) > self.max_entries or self.size > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self.size -= len(evicted.body)
        return entry

    def lead_or_follow(self, key: CacheKey) -> asyncio.Future[CachedResponse | None] | None:
        """Single flight of identical misses: ``None`` makes the caller the leader.

        The leader runs the query and must call ``led(key, entry)`` whatever
        happens; the others get a future of the leader's entry (``None`` when its
        response could not be kept: they run the query themselves). Without
        this, an entry expiring under load sends every concurrent identical
        request to execution at once.
        """
        flight = self._flights.get(key)
        if flight is not None:
            return flight
        self._flights[key] = asyncio.get_running_loop().create_future()
        return None

    def led(self, key: CacheKey, entry: CachedResponse | None) -> None:
        """End the leader's flight of ``key``: its followers get ``entry``."""
        flight = self._flights.pop(key, None)
        if flight is not None and not flight.done():
            flight.set_result(entry)

    def invalidate_writes(self) -> int:
        """Drop the entries a committed write may have made stale; return how many."""
        self.generation += 1
        stale = [key for key, entry in self._entries.items() if entry.write_sensitive()]
        for key in stale:
            self._drop(key)
        return len(stale)

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()
        self.size = 0

    def _drop(self, key: CacheKey) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.size -= len(entry.body)


class ResponseCaching:
    """Step: answer a repeated query from the cache; keep the answers that may be kept.

    A hit runs nothing (no parse, no resolver) but is still charged to the
    caller's rate budget with the cost the query had. Requests with an
    ``Idempotency-Key`` and websocket operations pass straight through.

    Args:
        cache: the process's response cache.
        limiter: the rate limiter that charges hits; ``None`` when limits are off.
    """

    def __init__(self, cache: ResponseCache, limiter: RateLimiter | None) -> None:
        self.cache = cache
        self.limiter = limiter

    async def __call__(self, exchange: Exchange, call_next: Handler) -> Reply:
        params = exchange.require_params()
        if (
            params.query is None
            or exchange.transport is Transport.WEBSOCKET
            or "idempotency-key" in exchange.connection.headers
        ):
            return await call_next(exchange)
        scopes = exchange.identity.scopes if exchange.identity else frozenset()
        key = cache_key(
            params.query, params.operation_name, params.variables, params.extensions, scopes
        )
        entry = self.cache.lookup(key)
        lead = False
        if entry is None:
            flight = self.cache.lead_or_follow(key)
            lead = flight is None
            if flight is not None:  # an identical request is running: wait for its answer
                entry = await asyncio.shield(flight)
        record_cache("response", entry is not None)
        if entry is not None:
            return await self._replay(exchange, entry)
        return await self._run_and_keep(exchange, call_next, key, lead=lead)

    async def _replay(self, exchange: Exchange, entry: CachedResponse) -> Reply:
        if self.limiter is not None:
            await charge(self.limiter, exchange.client_id, entry.cost)
        return Reply(
            outcome=OperationOutcome(
                Outcome.OK,
                operation=entry.operation,
                kind="query",
                client_id=exchange.client_id,
                response_cache="hit",
            ),
            body=entry.body,
            headers={"X-Response-Cache": "hit", "Age": str(entry.age())},
        )

    async def _run_and_keep(
        self, exchange: Exchange, call_next: Handler, key: CacheKey, *, lead: bool
    ) -> Reply:
        generation = self.cache.generation
        entry = None
        try:
            with reads.tracking() as read_set:
                reply = await call_next(exchange)
            if _cacheable(reply):
                entry = self.cache.store(
                    key,
                    reply.rendered(),
                    read_set,
                    cost=exchange.cost or 1,
                    operation=reply.outcome.operation,
                    generation=generation,
                )
            if entry is not None:
                reply.headers["X-Response-Cache"] = "miss"
            return reply
        finally:
            if lead:
                self.cache.led(key, entry)  # followers replay the entry, or run themselves


def _cacheable(reply: Reply) -> bool:
    """A complete, error-free, fresh query answer."""
    return (
        reply.result is not None
        and reply.outcome.kind == "query"
        and reply.outcome.outcome is Outcome.OK
        and STALE_EXTENSION not in reply.extensions
    )


class InvalidationBroadcast:
    """Tells the other instances (over Redis pub/sub) that a write committed here.

    Each instance listens on the channel (a ``RedisEventBus`` of its own) and
    drops its write-sensitive entries on every message. Without Redis only
    this process's cache is invalidated. Messages are best effort: while
    Redis is down, other instances' entries live until their TTL.
    """

    def __init__(self, cache: ResponseCache, redis_url: str | None, *, channel: str) -> None:
        self.cache = cache
        self.bus = RedisEventBus(redis_url, channel=channel) if redis_url else None
        self._listener: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(
        cls, settings: CachingSettings, cache: ResponseCache
    ) -> InvalidationBroadcast:
        return cls(cache, settings.redis_url, channel=settings.response_cache_channel)

    async def start(self) -> None:
        """Subscribe to the channel; returns once subscribed (or after 5 s)."""
        if self.bus is None:
            return
        await self.bus.start()
        subscribed = asyncio.Event()
        self._listener = asyncio.create_task(
            self._listen(subscribed), name="response-cache invalidation"
        )
        await subscribed.wait()

    async def aclose(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self.bus is not None:
            await self.bus.aclose()

    async def writes_committed(self, _changes: object) -> None:
        """The change hook: invalidate here, then tell the other instances."""
        self.cache.invalidate_writes()
        if self.bus is not None:
            await self.bus.publish({"type": "response-cache.invalidate"})  # logs, never raises

    async def _listen(self, subscribed: asyncio.Event) -> None:
        assert self.bus is not None
        async with self.bus.subscribe() as messages:
            subscribed.set()
            async for _ in messages:
                self.cache.invalidate_writes()


def several_workers_warning(settings: Settings) -> str | None:
    """What an operator should know before starting several workers with this cache."""
    if settings.response_cache_enabled and settings.workers > 1 and not settings.redis_url:
        return (
            f"the response cache is on with {settings.workers} workers and no "
            "GATEWAY_REDIS_URL: a write drops the writing worker's entries only; "
            "the others' live until their TTL"
        )
    return None


__all__ = [
    "CacheKey",
    "CachedResponse",
    "InvalidationBroadcast",
    "ResponseCache",
    "cache_key",
    "several_workers_warning",
]
