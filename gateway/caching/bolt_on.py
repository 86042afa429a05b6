"""Cross-request caching of bolt-on reads, with single-flight and stale answers.

One ``BoltOnCache`` per gateway process, in front of the bolt-ons' batch
reads (prices, insights, shipments). The core is never cached here.

- Storage is aiocache: ``SimpleMemoryCache`` by default (records stored as
  they are), ``RedisCache`` when ``GATEWAY_REDIS_URL`` is set, so several
  instances share entries and one instance's invalidation is everyone's
  (entries are deleted in Redis itself). Redis values are JSON, never pickle.
- Keys name everything the answer depends on::

      <namespace>:<service>:<operation>:<credential hash>:<variant>:<key>
      boltgate:pricing:listPrices:3f2a...:USD:SKU-00042

  the credential hash being ``HttpBackend.credential_id`` (never the token).
- Entries are wrapped ``(fresh_until, value)``: a cached ``None`` (an
  unshipped order) is an answer, not a miss. They live ``ttl + stale_ttl``
  seconds; past ``fresh_until`` they serve only as the last good value when
  the backend fails (``stale_on_error``) or while a refresh runs
  (``stale_while_revalidate``); each such answer is reported to ``on_stale``.
- Single-flight: concurrent misses of the same key in one process share one
  backend call; a batch asks the backend only for keys nobody is fetching.
- ``invalidate`` / ``apply_changes`` delete exactly the entries a write made
  stale, and stop in-flight fetches of those keys from storing their answer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import types
import typing
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import urlsplit

import orjson

from adapters.errors import BackendError

log = logging.getLogger("gateway.caching.bolt_on")

V = TypeVar("V")

#: One slot of a batch answer: a record, ``None`` for "the backend has none", or its error.
Slot = Any
#: Fetches the given keys from the backend: one slot per key, in key order.
Fetch = Callable[[list[str]], Awaitable[Sequence[Slot]]]
#: Told of every answer served stale: ``(service, operation, key)``.
StaleSink = Callable[[str, str, str], None]


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """How one operation's answers are cached.

    Attributes:
        ttl: seconds an answer is fresh; 0 turns caching off for the operation.
        stale_ttl: seconds past ``ttl`` an entry is kept as a last good value.
        stale_on_error: answer the last good value when the backend fails.
        stale_while_revalidate: answer an expired entry at once and refresh it
            in the background.
    """

    ttl: float = 0.0
    stale_ttl: float = 0.0
    stale_on_error: bool = False
    stale_while_revalidate: bool = False

    @property
    def keeps(self) -> float:
        """Seconds an entry stays in storage."""
        return self.ttl + (
            self.stale_ttl if self.stale_on_error or self.stale_while_revalidate else 0.0
        )


@dataclass(frozen=True, slots=True)
class Operation(Generic[V]):
    """A cacheable bolt-on read: its service, operationId and record type."""

    service: str
    name: str
    record: type[V]

    @property
    def label(self) -> str:
        return f"{self.service}.{self.name}"


def fresh_ttl(ttls: Mapping[str, float], label: str, default: float = 0.0) -> float:
    """Fresh seconds of ``service.operation`` from ``cache_ttls``: the operation's, else its
    service's, else ``default`` (0: not cached)."""
    return ttls.get(label, ttls.get(label.partition(".")[0], default))


# --- values in storage -------------------------------------------------------


class RecordCodec:
    """Frozen record dataclasses to JSON-ready dicts and back (Decimal and dates as strings)."""

    def __init__(self, record: type[Any]) -> None:
        self.record = record
        hints = typing.get_type_hints(record)
        self._decoders = {f.name: _decoder(hints[f.name]) for f in dataclasses.fields(record)}

    def encode(self, value: Any) -> Any:
        if value is None:
            return None
        return {name: _encode(getattr(value, name)) for name in self._decoders}

    def decode(self, data: Any) -> Any:
        if data is None:
            return None
        return self.record(**{name: dec(data[name]) for name, dec in self._decoders.items()})


class JsonCodec:
    """Values already JSON (a declared bolt-on's answers), stored as they are."""

    def encode(self, value: Any) -> Any:
        return value

    def decode(self, data: Any) -> Any:
        return data


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):  # datetime included
        return value.isoformat()
    return value


def _decoder(hint: Any) -> Callable[[Any], Any]:
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args:
        [inner] = [arg for arg in args if arg is not type(None)]
        decode = _decoder(inner)
        return lambda raw: None if raw is None else decode(raw)
    if hint is Decimal:
        return Decimal
    if hint is datetime:
        return datetime.fromisoformat
    if hint is date:
        return date.fromisoformat
    return lambda raw: raw


class Storage(Protocol):
    """Where entries live: wrapped ``(fresh_until, value)`` pairs under string keys."""

    shared: bool

    async def get_many(
        self, op: Operation[Any], keys: list[str]
    ) -> list[tuple[float, Any] | None]: ...

    async def set_many(
        self, op: Operation[Any], entries: list[tuple[str, tuple[float, Any]]], ttl: float
    ) -> None: ...

    async def delete(self, keys: list[str]) -> None: ...

    async def close(self) -> None: ...


_JSON_CODEC = JsonCodec()


class MemoryStorage:
    """Process-local entries in aiocache's ``SimpleMemoryCache``, records kept as objects."""

    shared = False

    def __init__(self) -> None:
        # Imported here: aiocache's package imports redis (~9 MB per worker), which a
        # gateway with its caches off never uses. aiocache ships no type information.
        from aiocache import SimpleMemoryCache  # type: ignore[import-untyped]
        from aiocache.serializers import NullSerializer  # type: ignore[import-untyped]

        # No per-call timeout: a dict lookup needs no asyncio.wait_for around it.
        self.backend: Any = SimpleMemoryCache(serializer=NullSerializer(), timeout=None)

    async def get_many(self, op: Operation[Any], keys: list[str]) -> list[tuple[float, Any] | None]:
        values: list[tuple[float, Any] | None] = await self.backend.multi_get(keys)
        return values

    async def set_many(
        self, op: Operation[Any], entries: list[tuple[str, tuple[float, Any]]], ttl: float
    ) -> None:
        await self.backend.multi_set(entries, ttl=ttl)

    async def delete(self, keys: list[str]) -> None:
        for key in keys:
            await self.backend.delete(key)

    async def close(self) -> None:
        await self.backend.close()


class RedisStorage:
    """Entries shared by every instance, in Redis through aiocache's ``RedisCache``, as JSON."""

    shared = True

    def __init__(self, url: str, *, timeout: float = 0.5) -> None:
        from aiocache import RedisCache  # type: ignore[import-untyped,unused-ignore]
        from aiocache.serializers import NullSerializer  # type: ignore[import-untyped,unused-ignore]

        parts = urlsplit(url)
        db = parts.path.lstrip("/")
        self.backend = RedisCache(
            serializer=NullSerializer(),
            endpoint=parts.hostname or "127.0.0.1",
            port=parts.port or 6379,
            db=int(db) if db else 0,
            password=parts.password,
            timeout=timeout,
        )
        # Made on first use per operation: a record dataclass, or plain JSON (declared reads).
        self._codecs: dict[str, RecordCodec | JsonCodec] = {}

    async def get_many(self, op: Operation[Any], keys: list[str]) -> list[tuple[float, Any] | None]:
        raws: list[str | None] = await self.backend.multi_get(keys)
        codec = self._codec(op)
        found: list[tuple[float, Any] | None] = []
        for raw in raws:
            if raw is None:
                found.append(None)
                continue
            fresh_until, data = orjson.loads(raw)
            found.append((float(fresh_until), codec.decode(data)))
        return found

    async def set_many(
        self, op: Operation[Any], entries: list[tuple[str, tuple[float, Any]]], ttl: float
    ) -> None:
        codec = self._codec(op)
        pairs = [
            (key, orjson.dumps([fresh_until, codec.encode(value)]))
            for key, (fresh_until, value) in entries
        ]
        # A float TTL makes aiocache use PSETEX/PEXPIRE (millisecond precision).
        await self.backend.multi_set(pairs, ttl=float(ttl))

    async def delete(self, keys: list[str]) -> None:
        if keys:
            await self.backend.client.delete(*keys)

    def _codec(self, op: Operation[Any]) -> RecordCodec | JsonCodec:
        codec = self._codecs.get(op.label)
        if codec is None:
            codec = RecordCodec(op.record) if dataclasses.is_dataclass(op.record) else _JSON_CODEC
            self._codecs[op.label] = codec
        return codec

    async def close(self) -> None:
        # aiocache's close() calls redis' deprecated close(); aclose() is the async one.
        await self.backend.client.aclose()


# --- the cache ---------------------------------------------------------------


@dataclass
class _Flight:
    """One backend fetch in progress; joiners await its futures."""

    futures: dict[str, asyncio.Future[tuple[Slot, bool]]]
    #: Cleared by an invalidation: the answer may predate the write, do not store it.
    store: bool = True


@dataclass
class _Pending:
    key: str
    storage_key: str
    stale: tuple[float, Any] | None = None


@dataclass
class _Plan:
    """How one ``get_many`` call answers each of its keys."""

    answers: dict[str, tuple[Slot, bool]] = field(default_factory=dict)
    joined: dict[str, asyncio.Future[tuple[Slot, bool]]] = field(default_factory=dict)
    pending: list[_Pending] = field(default_factory=list)
    refresh: list[_Pending] = field(default_factory=list)


@dataclass
class BoltOnCache:
    """The process's cache of bolt-on reads (see the module docstring).

    Args:
        storage: where entries live (memory or Redis).
        policies: per operation label (``pricing.listPrices``) its policy;
            an operation without one is not cached (but still single-flighted).
        credentials: per service the ``credential_id`` of the adapter calling it.
        namespace: the first part of every key (fresh per test for isolation).
        variants: per operation label the variants (currencies) invalidations
            always cover, besides those this process has used itself.

    Example:
        >>> cache = BoltOnCache(
        ...     MemoryStorage(),
        ...     {"pricing.listPrices": CachePolicy(ttl=60)},
        ...     credentials={"pricing": pricing.credential_id},
        ... )
        >>> prices = await cache.get_many(
        ...     PRICES, ["SKU-1"], lambda keys: pricing.prices(keys, "USD"), variant="USD"
        ... )
    """

    storage: Storage
    policies: Mapping[str, CachePolicy] = field(default_factory=dict)
    credentials: Mapping[str, str] = field(default_factory=dict)
    namespace: str = "boltgate"
    variants: Mapping[str, frozenset[str]] = field(default_factory=dict)
    clock: Callable[[], float] = time.time
    #: More operations a change of a core type makes stale, by type: the declared
    #: bolt-on fields keyed by that type's business key.
    stale_on_change: Mapping[str, tuple[Operation[Any], ...]] = field(default_factory=dict)
    _flights: dict[str, _Flight] = field(default_factory=dict, init=False)
    _seen_variants: dict[str, set[str]] = field(default_factory=dict, init=False)
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set, init=False)

    def policy(self, op: Operation[Any]) -> CachePolicy:
        return self.policies.get(op.label, _NO_CACHE)

    def _prefix(self, op: Operation[Any], variant: str) -> str:
        credential = self.credentials.get(op.service, "-")
        return f"{self.namespace}:{op.service}:{op.name}:{credential}:{variant}:"

    async def get_many(
        self,
        op: Operation[Any],
        keys: Sequence[str],
        fetch: Fetch,
        *,
        variant: str = "",
        on_stale: StaleSink | None = None,
    ) -> list[Slot]:
        """One slot per key, in key order: from the cache, a shared fetch, or a new one.

        ``fetch`` is called at most once, with the keys neither cached nor
        being fetched by someone else. A slot may hold a ``BackendError``
        (that key's failure); an error of the whole fetch is raised unless
        every failed key had a last good value to serve instead.
        """
        policy = self.policy(op)
        prefix = self._prefix(op, variant)
        self._seen_variants.setdefault(op.label, set()).add(variant)
        plan = await self._partition(op, policy, prefix, list(dict.fromkeys(keys)))
        answers = await self._settle(op, policy, plan, fetch)
        result: list[Slot] = []
        for key in keys:
            value, stale = answers[key]
            if stale and on_stale is not None:
                on_stale(op.service, op.name, key)
            result.append(value)
        self._raise_if_all_failed(result)
        return result

    async def _partition(
        self, op: Operation[Any], policy: CachePolicy, prefix: str, distinct: list[str]
    ) -> _Plan:
        """Sort the keys: answered from storage, joining a flight, to fetch, to refresh."""
        plan = _Plan()
        lookup = [k for k in distinct if prefix + k not in self._flights]
        for key in distinct:
            if prefix + key in self._flights:
                plan.joined[key] = self._flights[prefix + key].futures[prefix + key]
        if not lookup or policy.ttl <= 0:
            plan.pending = [_Pending(k, prefix + k) for k in lookup]
            return plan
        entries = await self._read(op, [prefix + k for k in lookup])
        now = self.clock()
        for key, entry in zip(lookup, entries, strict=True):
            if entry is not None and entry[0] > now:
                plan.answers[key] = (entry[1], False)
            elif entry is not None and policy.stale_while_revalidate:
                plan.answers[key] = (entry[1], True)
                plan.refresh.append(_Pending(key, prefix + key, entry))
            else:
                plan.pending.append(_Pending(key, prefix + key, entry))
        return plan

    async def _settle(
        self, op: Operation[Any], policy: CachePolicy, plan: _Plan, fetch: Fetch
    ) -> dict[str, tuple[Slot, bool]]:
        """Fetch what is ours to fetch, wait for the flights joined; every key answered."""
        answers = plan.answers
        # Synchronously (no await in between): join flights that started while we looked.
        mine: list[_Pending] = []
        for item in plan.pending:
            flight = self._flights.get(item.storage_key)
            if flight is not None:
                plan.joined[item.key] = flight.futures[item.storage_key]
            else:
                mine.append(item)
        if mine:
            done = await asyncio.shield(self._start_flight(op, policy, mine, fetch))
            for item in mine:
                answers[item.key] = done[item.key]
        # One background refresh for all the expired keys nobody is fetching yet.
        refresh = [item for item in plan.refresh if item.storage_key not in self._flights]
        if refresh:
            self._start_flight(op, policy, refresh, fetch)
        for key, future in plan.joined.items():
            answers[key] = await asyncio.shield(future)
        return answers

    def _start_flight(
        self, op: Operation[Any], policy: CachePolicy, items: list[_Pending], fetch: Fetch
    ) -> asyncio.Task[dict[str, tuple[Slot, bool]]]:
        loop = asyncio.get_running_loop()
        flight = _Flight({item.storage_key: loop.create_future() for item in items})
        for storage_key in flight.futures:
            self._flights[storage_key] = flight
        # A task of its own: a caller cancelled mid-fetch must not strand those who joined.
        task = asyncio.create_task(self._fly(op, policy, items, fetch, flight))
        self._tasks.add(task)
        task.add_done_callback(self._flight_done)
        return task

    def _flight_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        # A background refresh has no caller to re-raise its failure: log it here.
        if not task.cancelled() and task.exception() is not None:
            log.warning("cache fetch failed: %s", type(task.exception()).__name__)

    async def _fly(
        self,
        op: Operation[Any],
        policy: CachePolicy,
        items: list[_Pending],
        fetch: Fetch,
        flight: _Flight,
    ) -> dict[str, tuple[Slot, bool]]:
        outcome: dict[str, tuple[Slot, bool]] = {}
        try:
            try:
                slots: Sequence[Slot] = await fetch([item.key for item in items])
            except BackendError as exc:
                slots = [exc] * len(items)
            fresh: list[tuple[str, tuple[float, Any]]] = []
            fresh_until = self.clock() + policy.ttl
            for item, slot in zip(items, slots, strict=True):
                if isinstance(slot, BackendError):
                    if item.stale is not None and policy.stale_on_error:
                        outcome[item.key] = (item.stale[1], True)
                    else:
                        outcome[item.key] = (slot, False)
                else:
                    outcome[item.key] = (slot, False)
                    fresh.append((item.storage_key, (fresh_until, slot)))
            if fresh and policy.ttl > 0 and flight.store:
                await self._write(op, fresh, policy.keeps)
            for item in items:
                flight.futures[item.storage_key].set_result(outcome[item.key])
            return outcome
        except BaseException as exc:
            for future in flight.futures.values():
                if not future.done():
                    future.set_exception(exc)
                    future.exception()  # retrieved: joiners re-raise it themselves
            raise
        finally:
            for storage_key in flight.futures:
                if self._flights.get(storage_key) is flight:
                    del self._flights[storage_key]

    @staticmethod
    def _raise_if_all_failed(result: list[Slot]) -> None:
        # A whole batch failing is the backend failing: raise it like an uncached call would.
        if result and all(isinstance(slot, BackendError) for slot in result):
            first = result[0]
            if all(slot is first for slot in result):
                raise first

    async def _read(self, op: Operation[Any], keys: list[str]) -> list[tuple[float, Any] | None]:
        try:
            return await self.storage.get_many(op, keys)
        except Exception as exc:  # the cache is an optimisation: a broken one is a miss
            log.warning("cache read failed (%s); treating as a miss", type(exc).__name__)
            return [None] * len(keys)

    async def _write(
        self, op: Operation[Any], entries: list[tuple[str, tuple[float, Any]]], ttl: float
    ) -> None:
        try:
            await self.storage.set_many(op, entries, ttl)
        except Exception as exc:
            log.warning("cache write failed (%s)", type(exc).__name__)

    async def invalidate(self, op: Operation[Any], keys: Iterable[str]) -> None:
        """Forget ``keys`` of ``op`` in every variant known here (all currencies seen, and USD).

        With Redis the entries are deleted in Redis, so every instance sees it.
        """
        variants = {"", *self.variants.get(op.label, ()), *self._seen_variants.get(op.label, ())}
        storage_keys: list[str] = []
        for key in keys:
            for variant in variants:
                storage_key = self._prefix(op, variant) + key
                storage_keys.append(storage_key)
                flight = self._flights.pop(storage_key, None)
                if flight is not None:
                    flight.store = False
        if not storage_keys:
            return
        try:
            await self.storage.delete(storage_keys)
        except Exception as exc:
            # Not swallowed quietly: a failed invalidation means stale reads until the TTL.
            log.error("cache invalidation failed (%s)", type(exc).__name__)

    async def apply_changes(self, changes: Iterable[tuple[str, str]]) -> None:
        """Invalidate what a committed write made stale.

        A hook for ``app.state.on_change`` (``gateway.writes.changes``): ``changes``
        are ``(GraphQL type, business key)`` pairs, ``("Order", "SO-000123")``.
        """
        by_op: dict[Operation[Any], list[str]] = {}
        for type_name, key in changes:
            for op in (*self.stale_on_change.get(type_name, ()),):
                by_op.setdefault(op, []).append(key)
        for op, keys in by_op.items():
            await self.invalidate(op, keys)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.storage.close()


_NO_CACHE = CachePolicy()


__all__ = [
    "BoltOnCache",
    "CachePolicy",
    "MemoryStorage",
    "Operation",
    "RecordCodec",
    "RedisStorage",
    "StaleSink",
]
