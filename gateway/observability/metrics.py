"""Prometheus metrics of the gateway, and the ``/metrics`` endpoint.

The metric objects live on this module's own registry (the prometheus
client keeps its values per process anyway). Other parts of the gateway
report through the small functions here, so none of them imports
``prometheus_client``:

- ``record_request(operation, outcome, seconds)``: the HTTP layer;
- ``record_backend_call(record)``: every adapter call (``CallObserver``);
- ``set_circuit_state(service, state)``: the circuit breaker;
- ``record_cache(cache, hit)``: the response/field caches;
- ``observe_batch(loader, size)``: every DataLoader batch;
- ``record_rate_limited(client_id)``: the rate limiter.

With several worker processes (``gateway serve --workers N``) the CLI sets
``PROMETHEUS_MULTIPROC_DIR`` before the workers start; every worker then
writes its values there and ``/metrics``, whichever worker answers, adds
up all of them.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response
from strawberry.dataloader import DataLoader

from adapters.observe import CallRecord

log = logging.getLogger("gateway.observability.metrics")

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

#: prometheus-client's own switch for multi-process mode (set by ``gateway serve``).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

#: Labels taken from client input are capped so a client cannot grow the series without end.
MAX_LABEL_VALUES = 200
OVERFLOW_LABEL = "_other"

REGISTRY = CollectorRegistry(auto_describe=True)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)

REQUESTS = Counter(
    "gateway_requests",
    "GraphQL requests by operation name and outcome (ok, partial, error, rejected).",
    ["operation", "outcome"],
    registry=REGISTRY,
)
REQUEST_SECONDS = Histogram(
    "gateway_request_duration_seconds",
    "Wall time of GraphQL requests, by operation name.",
    ["operation"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
BACKEND_CALLS = Counter(
    "gateway_backend_calls",
    "Calls to the core and the bolt-ons, by backend and endpoint (operationId).",
    ["service", "operation"],
    registry=REGISTRY,
)
BACKEND_ERRORS = Counter(
    "gateway_backend_errors",
    "Failed backend calls by kind (the error code: UPSTREAM_TIMEOUT, ...).",
    ["service", "operation", "kind"],
    registry=REGISTRY,
)
BACKEND_SECONDS = Histogram(
    "gateway_backend_call_duration_seconds",
    "Wall time of backend calls, retries included.",
    ["service", "operation"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
CIRCUIT_STATE = Gauge(
    "gateway_circuit_state",
    "Circuit breaker state per backend: 0 closed, 1 half-open, 2 open (worst live worker).",
    ["service"],
    multiprocess_mode="livemax",
    registry=REGISTRY,
)
CACHE_REQUESTS = Counter(
    "gateway_cache_requests",
    "Cache look-ups by cache and result (hit, miss).",
    ["cache", "result"],
    registry=REGISTRY,
)
LOADER_BATCH_SIZE = Histogram(
    "gateway_loader_batch_size",
    "Keys per DataLoader batch, by loader.",
    ["loader"],
    buckets=_BATCH_BUCKETS,
    registry=REGISTRY,
)
RATE_LIMITED_REQUESTS = Counter(
    "gateway_rate_limited",
    "Requests refused by the rate limiter, by client id.",
    ["client"],
    registry=REGISTRY,
)
WORKER_UP = Gauge(
    "gateway_worker_up",
    "1 for every live worker process (one series per pid in multi-process mode).",
    multiprocess_mode="liveall",
    registry=REGISTRY,
)

CIRCUIT_STATES = {"closed": 0, "half_open": 1, "half-open": 1, "open": 2}


class _CappedLabel:
    """Remembers the label values seen; past the cap new ones become ``_other``."""

    def __init__(self, cap: int = MAX_LABEL_VALUES) -> None:
        self._cap = cap
        self._seen: set[str] = set()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        if len(self._seen) >= self._cap:
            return OVERFLOW_LABEL
        self._seen.add(value)
        return value


_operation_label = _CappedLabel()
_client_label = _CappedLabel()


#: The labelled children already made, by metric and label values: ``labels()`` builds
#: and looks them up under a lock on every call, a few microseconds each, and a cached
#: response pays four of them. The label values are bounded (``_CappedLabel``).
_children: dict[tuple[int, tuple[str, ...]], Any] = {}


def _labelled(metric: Any, *values: str) -> Any:
    key = (id(metric), values)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*values)
    return child


def record_request(operation: str | None, outcome: str, seconds: float) -> None:
    """Count one GraphQL request; ``operation`` is the operation name (or ``None``)."""
    name = _operation_label(operation or "anonymous")
    _labelled(REQUESTS, name, outcome).inc()
    _labelled(REQUEST_SECONDS, name).observe(seconds)


def record_backend_call(record: CallRecord) -> None:
    """Count one backend call, its latency, and its error kind when it failed."""
    _labelled(BACKEND_CALLS, record.service, record.operation).inc()
    _labelled(BACKEND_SECONDS, record.service, record.operation).observe(record.seconds)
    if record.outcome != "ok":
        _labelled(BACKEND_ERRORS, record.service, record.operation, record.outcome).inc()


def set_circuit_state(service: str, state: str) -> None:
    """Publish a circuit breaker's state: ``closed``, ``half_open`` or ``open``.

    Raises:
        ValueError: for any other state name.
    """
    try:
        value = CIRCUIT_STATES[state.lower()]
    except KeyError:
        raise ValueError(f"state: must be one of closed, half_open, open (got {state!r})") from None
    CIRCUIT_STATE.labels(service).set(value)


def record_cache(cache: str, hit: bool) -> None:
    """Count one look-up in the named cache."""
    _labelled(CACHE_REQUESTS, cache, "hit" if hit else "miss").inc()


def observe_batch(loader: str, size: int) -> None:
    """Record the number of keys in one DataLoader batch."""
    _labelled(LOADER_BATCH_SIZE, loader).observe(size)


def record_rate_limited(client_id: str) -> None:
    """Count one request the rate limiter refused for this client."""
    RATE_LIMITED_REQUESTS.labels(_client_label(client_id or "anonymous")).inc()


class MetricsObserver:
    """The ``adapters.observe.CallObserver`` that feeds the backend metrics."""

    def backend_call(self, record: CallRecord) -> None:
        record_backend_call(record)


# --- the outbox, read at scrape time -------------------------------------------

OUTBOX_TABLE = "gateway_outbox"
_PENDING = ("pending", "retry", "retrying")
_FAILED = ("failed", "dead")


@dataclass(frozen=True, slots=True)
class OutboxSnapshot:
    """Outbox figures at one moment."""

    pending: int
    failed: int
    oldest_pending_seconds: float


class OutboxCollector(Collector):
    """Exposes the last outbox snapshot; ``refresh`` reads it from the core first.

    The outbox lives in the core database, so every instance reports the
    same figures; they are read when scraped, not pushed by the dispatcher.
    When the table does not exist (yet), nothing is exposed.
    """

    def __init__(self, engine: Callable[[], AsyncEngine | None]) -> None:
        self._engine = engine
        self._snapshot: OutboxSnapshot | None = None
        # Once the table is known to exist, scrapes skip the catalog look-ups.
        self._table_seen = False

    async def refresh(self) -> None:
        engine = self._engine()
        self._snapshot = None
        if engine is None:
            return
        try:
            async with engine.connect() as conn:
                self._snapshot = await conn.run_sync(_read_outbox, self._table_seen)
            self._table_seen = self._snapshot is not None
        except Exception:  # a scrape must not fail because the outbox cannot be read
            log.warning("outbox metrics unavailable", exc_info=True)

    def collect(self) -> Iterable[GaugeMetricFamily]:
        snapshot = self._snapshot
        if snapshot is None:
            return
        yield GaugeMetricFamily(
            "gateway_outbox_pending", "Outbox events not yet delivered.", value=snapshot.pending
        )
        yield GaugeMetricFamily(
            "gateway_outbox_failed", "Outbox events given up on.", value=snapshot.failed
        )
        yield GaugeMetricFamily(
            "gateway_outbox_oldest_pending_age_seconds",
            "Age of the oldest undelivered outbox event (0 when none).",
            value=snapshot.oldest_pending_seconds,
        )


def _read_outbox(conn: Connection, table_seen: bool = False) -> OutboxSnapshot | None:
    if not table_seen:
        inspector = inspect(conn)
        if not inspector.has_table(OUTBOX_TABLE):
            return None
        columns = {column["name"] for column in inspector.get_columns(OUTBOX_TABLE)}
        if not {"status", "created_at"} <= columns:
            return None
    rows = conn.execute(
        text(f"SELECT status, COUNT(*), MIN(created_at) FROM {OUTBOX_TABLE} GROUP BY status")  # noqa: S608 - constant name
    ).all()
    pending = failed = 0
    oldest: datetime | None = None
    for status, count, first in rows:
        state = str(status).lower()
        if state in _PENDING:
            pending += int(count)
            moment = _as_utc(first)
            if moment is not None and (oldest is None or moment < oldest):
                oldest = moment
        elif state in _FAILED:
            failed += int(count)
    age = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
    return OutboxSnapshot(pending, failed, max(0.0, age))


def _as_utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return None
    # SQLite hands back naive datetimes; the gateway stores UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# --- the endpoint ------------------------------------------------------------------


def multiprocess_dir() -> str | None:
    """The multi-process directory, when prometheus-client is in that mode."""
    return os.environ.get(MULTIPROC_ENV) or None


def metrics_endpoint(
    outbox: OutboxCollector | None = None,
) -> Callable[[Request], Awaitable[Response]]:
    """The ``/metrics`` handler: this process's metrics, or every worker's in multi-process mode."""

    async def metrics(request: Request) -> Response:
        started = time.perf_counter()
        directory = multiprocess_dir()
        if directory is not None:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        else:
            registry = REGISTRY
        body = generate_latest(registry)
        if outbox is not None:
            await outbox.refresh()
            extra = CollectorRegistry()
            extra.register(outbox)
            body += generate_latest(extra)
        log.debug("scraped in %.1f ms", (time.perf_counter() - started) * 1000)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return metrics


def mark_worker_up() -> None:
    """Publish this process as a live worker (``gateway_worker_up``)."""
    WORKER_UP.set(1)


@contextmanager
def multiprocess_mode(workers: int) -> Iterator[str | None]:
    """For ``workers > 1``: a fresh directory in ``PROMETHEUS_MULTIPROC_DIR`` while serving.

    Set before uvicorn starts its workers, which inherit the environment;
    fresh each time because files left by an earlier run's processes would
    be added to this run's counts. Removed when the server stops.
    """
    if workers <= 1:
        yield None
        return
    directory = tempfile.mkdtemp(prefix="gateway-metrics-")
    previous = os.environ.get(MULTIPROC_ENV)
    os.environ[MULTIPROC_ENV] = directory
    try:
        yield directory
    finally:
        if previous is None:
            os.environ.pop(MULTIPROC_ENV, None)
        else:
            os.environ[MULTIPROC_ENV] = previous
        shutil.rmtree(directory, ignore_errors=True)


class MeasuredDataLoader(DataLoader[K, V]):
    """A ``DataLoader`` that records the size of every batch it dispatches.

    Args:
        load_fn: the batch function; its name (``customers_by_id``) labels the metric.
        name: the label instead of the function's name.
    """

    def __init__(
        self,
        load_fn: Callable[[list[K]], Awaitable[Sequence[V | BaseException]]],
        *,
        name: str | None = None,
        **options: Any,
    ) -> None:
        label = name or getattr(load_fn, "__name__", "loader").lstrip("_")

        async def measured(keys: list[K]) -> Sequence[V | BaseException]:
            observe_batch(label, len(keys))
            return await load_fn(keys)

        super().__init__(load_fn=measured, **options)
