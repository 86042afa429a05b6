"""What the three bolt-on simulators share.

- ``SimulatorState``: the runtime knobs (latency, jitter, failures, hang)
  and the request counters one simulator keeps; tests and benchmarks read
  and turn it in-process, or over HTTP through the admin endpoints.
- ``Problem``: an RFC 9457 ``application/problem+json`` error a handler raises.
- ``ContractRoutes``: wraps each contract operation so that every call is
  counted, disturbed by the knobs, and authenticated, in that order.
- ``simulator_app``: the Starlette app with the admin endpoints added.
- Small strict readers for request bodies, so every simulator rejects a
  malformed body with the same 400 that names the field.

The admin endpoints (``/_sim/...``) need no credentials and are never
counted: they exist for tests, benchmarks and the demo on loopback, not for
the gateway.

    GET  /_sim/stats    counters, batch-key log, recent headers, knobs
    POST /_sim/reset    counters, logs and knobs back to their start values
    GET  /_sim/config   the knobs
    POST /_sim/config   change some knobs: {"latency": 0.2, "failure_rate": 0.5}

The CRM adds ``GET /_sim/events`` (received events), Shipping adds
``GET /_sim/shipments`` (shipments created through the contract).
"""

from __future__ import annotations

import asyncio
import hmac
import random
import re
import threading
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from decimal import Decimal
from http import HTTPStatus
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

PROBLEM_CONTENT_TYPE = "application/problem+json"

#: Failure statuses a simulator may be told to answer with.
FAILURE_STATUSES = frozenset({429, 500, 502, 503, 504})

#: How often a hanging request looks whether it was released or abandoned.
_HANG_POLL_SECONDS = 0.05

Endpoint = Callable[[Request], Awaitable[Response]]
KeyReader = Callable[[Request], Sequence[str]]


# --- responses -------------------------------------------------------------


def json_response(
    content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response encoded with orjson (the simulators serve benchmarks too)."""
    return Response(
        orjson.dumps(content),
        status_code=status_code,
        headers=dict(headers or {}),
        media_type="application/json",
    )


def problem_response(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """An RFC 9457 problem: ``type`` is ``about:blank``, so ``title`` is the status phrase."""
    body = {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    return Response(
        orjson.dumps(body),
        status_code=status,
        headers=dict(headers or {}),
        media_type=PROBLEM_CONTENT_TYPE,
    )


class Problem(Exception):
    """An expected error a handler raises; the route answers it as problem+json.

    Example:
        >>> raise Problem(400, "at most 100 sku parameters are allowed")
    """

    def __init__(
        self, status: int, detail: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})

    def response(self) -> Response:
        return problem_response(self.status, self.detail, headers=self.headers)


# --- formatting ------------------------------------------------------------


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_z(moment: datetime) -> str:
    """A UTC date-time as the contracts write it: ``2026-11-26T08:30:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def decimal_str(value: Decimal) -> str:
    """A money amount as its contract string, always two places: ``"129.00"``."""
    # format "f" never switches to exponent notation, unlike str() on some Decimals.
    return format(value.quantize(Decimal("0.01")), "f")


# --- knobs and counters ----------------------------------------------------


@dataclass(frozen=True)
class Knobs:
    """How a simulator misbehaves; immutable, swapped whole so readers see one version.

    Attributes:
        latency: seconds added to every contract call.
        jitter: up to this many seconds more, uniformly random.
        failure_rate: fraction (0..1) of contract calls answered with ``failure_status``.
        failure_status: 503 by default; 429 answers carry ``Retry-After: 1``.
        hang: hold every call for ``hang_seconds`` (longer than any client
            timeout); released early when ``hang`` is switched off, the
            client goes away, or the state is reset or released (the
            runner releases it when the server stops).
        hang_seconds: how long a hang lasts at most.
        operations: operationIds the knobs apply to; ``None`` for all.
    """

    latency: float = 0.0
    jitter: float = 0.0
    failure_rate: float = 0.0
    failure_status: int = 503
    hang: bool = False
    hang_seconds: float = 30.0
    operations: frozenset[str] | None = None

    def applies_to(self, operation: str) -> bool:
        return self.operations is None or operation in self.operations

    def changed(self, changes: Mapping[str, Any]) -> Knobs:
        """A copy with ``changes`` applied; ``ValueError`` names a bad knob."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown knob(s): {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, value in changes.items():
            values[name] = _knob_value(name, value)
        return replace(self, **values)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["operations"] = None if self.operations is None else sorted(self.operations)
        return data


def _knob_value(name: str, value: Any) -> Any:
    if name == "hang":
        if not isinstance(value, bool):
            raise ValueError("hang must be a boolean")
        return value
    if name == "operations":
        if value is None:
            return None
        if not isinstance(value, list | tuple | set | frozenset) or not all(
            isinstance(item, str) for item in value
        ):
            raise ValueError("operations must be a list of operationIds or null")
        return frozenset(value)
    if name == "failure_status":
        if isinstance(value, bool) or value not in FAILURE_STATUSES:
            allowed = ", ".join(str(s) for s in sorted(FAILURE_STATUSES))
            raise ValueError(f"failure_status must be one of {allowed}")
        return int(value)
    # latency, jitter, failure_rate, hang_seconds: non-negative numbers
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a non-negative number")
    if name == "failure_rate" and value > 1:
        raise ValueError("failure_rate must be between 0 and 1")
    return float(value)


@dataclass(frozen=True)
class RequestRecord:
    """The headers of interest of one contract call, for tracing and idempotency tests."""

    operation: str
    request_id: str | None
    traceparent: str | None
    idempotency_key: str | None


@dataclass
class _Counters:
    counts: Counter[str] = field(default_factory=Counter)
    batches: defaultdict[str, deque[list[str]]] = field(default_factory=lambda: defaultdict(deque))
    recent: deque[RequestRecord] = field(default_factory=deque)


class SimulatorState:
    """Knobs and counters of one simulator, shared by its app and whoever drives it.

    The app runs in a server thread while a test or benchmark reads and turns
    the state from another: every read and write goes through one lock, and
    readers get copies.

    Args:
        service: the simulator's name, reported by ``/_sim/stats``.
        seed: seeds the random source behind jitter and failures.
        recent_size: how many requests' headers ``recent()`` keeps.
        batch_log_size: how many batch-key lists per operation ``batches()``
            keeps (counts stay exact; the log is bounded for long benchmarks).

    Example:
        >>> state = SimulatorState("pricing")
        >>> state.configure(latency=0.2, failure_rate=0.1)
        >>> app = create_pricing_app("token", state=state)
        >>> ...  # drive the gateway
        >>> state.count("listPrices"), state.batches("listPrices")
    """

    def __init__(
        self,
        service: str = "simulator",
        *,
        seed: int = 0,
        recent_size: int = 100,
        batch_log_size: int = 10_000,
    ) -> None:
        self.service = service
        self._seed = seed
        self._recent_size = recent_size
        self._batch_log_size = batch_log_size
        self._lock = threading.Lock()
        # Reproducible chaos, not secrets: a seeded PRNG is the point.
        self._random = random.Random(seed)  # noqa: S311
        self._knobs = Knobs()
        self._counters = self._new_counters()
        self._in_flight = 0
        self._peak_in_flight = 0
        # Bumped by reset() and release(): a hanging request from before lets go.
        self._generation = 0

    def _new_counters(self) -> _Counters:
        counters = _Counters(recent=deque(maxlen=self._recent_size))
        counters.batches = defaultdict(lambda: deque(maxlen=self._batch_log_size))
        return counters

    # knobs

    @property
    def knobs(self) -> Knobs:
        return self._knobs

    def configure(self, **changes: Any) -> Knobs:
        """Change some knobs at once; ``ValueError`` (and nothing changed) for a bad one.

        A ``seed`` entry re-seeds the random source.
        """
        seed = changes.pop("seed", None)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError("seed must be an integer")
        with self._lock:
            self._knobs = self._knobs.changed(changes)
            if seed is not None:
                self._seed = seed
                self._random.seed(seed)
            return self._knobs

    @property
    def latency(self) -> float:
        return self._knobs.latency

    @latency.setter
    def latency(self, value: float) -> None:
        self.configure(latency=value)

    @property
    def jitter(self) -> float:
        return self._knobs.jitter

    @jitter.setter
    def jitter(self, value: float) -> None:
        self.configure(jitter=value)

    @property
    def failure_rate(self) -> float:
        return self._knobs.failure_rate

    @failure_rate.setter
    def failure_rate(self, value: float) -> None:
        self.configure(failure_rate=value)

    @property
    def failure_status(self) -> int:
        return self._knobs.failure_status

    @failure_status.setter
    def failure_status(self, value: int) -> None:
        self.configure(failure_status=value)

    @property
    def hang(self) -> bool:
        return self._knobs.hang

    @hang.setter
    def hang(self, value: bool) -> None:
        self.configure(hang=value)

    def draw_delay(self, knobs: Knobs) -> float:
        """Latency plus a uniform share of jitter, from the seeded random source."""
        if knobs.jitter <= 0:
            return knobs.latency
        with self._lock:
            return knobs.latency + self._random.uniform(0, knobs.jitter)

    def draw_failure(self, knobs: Knobs) -> bool:
        if knobs.failure_rate <= 0:
            return False
        if knobs.failure_rate >= 1:
            return True
        with self._lock:
            return self._random.random() < knobs.failure_rate

    # counters

    def record(
        self, operation: str, headers: Mapping[str, str], keys: Sequence[str] | None = None
    ) -> None:
        """Count one contract call, its batch keys, and its headers of interest."""
        entry = RequestRecord(
            operation=operation,
            request_id=headers.get("x-request-id"),
            traceparent=headers.get("traceparent"),
            idempotency_key=headers.get("idempotency-key"),
        )
        with self._lock:
            self._counters.counts[operation] += 1
            if keys is not None:
                self._counters.batches[operation].append(list(keys))
            self._counters.recent.append(entry)

    def call_started(self) -> None:
        """A contract call is being handled (from before the knobs delay it)."""
        with self._lock:
            self._in_flight += 1
            self._peak_in_flight = max(self._peak_in_flight, self._in_flight)

    def call_finished(self) -> None:
        with self._lock:
            self._in_flight -= 1

    @property
    def in_flight(self) -> int:
        """Contract calls being handled right now."""
        with self._lock:
            return self._in_flight

    @property
    def peak_in_flight(self) -> int:
        """The most contract calls handled at once since the last reset: a client's fan-out."""
        with self._lock:
            return self._peak_in_flight

    def count(self, operation: str) -> int:
        """Calls of one operationId served since the last reset (failed ones too)."""
        with self._lock:
            return self._counters.counts[operation]

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counters.counts)

    @property
    def total(self) -> int:
        """All contract calls served since the last reset."""
        with self._lock:
            return sum(self._counters.counts.values())

    def batches(self, operation: str) -> list[list[str]]:
        """The keys of each batch call of ``operation``, oldest first (e.g. SKUs per listPrices)."""
        with self._lock:
            return [list(keys) for keys in self._counters.batches.get(operation, ())]

    def recent(self, operation: str | None = None) -> list[RequestRecord]:
        """Headers of interest of the last ``recent_size`` calls, oldest first."""
        with self._lock:
            return [r for r in self._counters.recent if operation in (None, r.operation)]

    @property
    def generation(self) -> int:
        return self._generation

    def release(self) -> None:
        """End every hang in progress now (the calls then proceed); the runner calls it on stop."""
        with self._lock:
            self._generation += 1

    def reset(self) -> None:
        """Counters, logs and knobs back to their start values; the random source re-seeded.

        Data created through the contract (quotes, shipments) is kept: the
        core may refer to it. Subclasses clear their own observations too.
        """
        with self._lock:
            self._counters = self._new_counters()
            # Calls in progress stay in progress; the peak restarts from them.
            self._peak_in_flight = self._in_flight
            self._knobs = Knobs()
            self._random.seed(self._seed)
            self._generation += 1

    def snapshot(self) -> dict[str, Any]:
        """Everything ``GET /_sim/stats`` reports, as plain JSON values."""
        with self._lock:
            counts = dict(self._counters.counts)
            return {
                "service": self.service,
                "counts": counts,
                "total": sum(counts.values()),
                "in_flight": self._in_flight,
                "peak_in_flight": self._peak_in_flight,
                "batches": {op: list(log) for op, log in self._counters.batches.items()},
                "recent": [asdict(r) for r in self._counters.recent],
                "config": self._knobs.to_json(),
            }


# --- fault injection -------------------------------------------------------


async def inject_faults(state: SimulatorState, operation: str, request: Request) -> Response | None:
    """Delay, hang or fail a call as the knobs say; a response means "answer this instead"."""
    knobs = state.knobs
    if not knobs.applies_to(operation):
        return None
    delay = state.draw_delay(knobs)
    if delay > 0:
        await asyncio.sleep(delay)
    if knobs.hang and await _hang(state, operation, request, knobs.hang_seconds):
        # The client went away: nobody reads this answer.
        return Response(status_code=499)
    if state.draw_failure(knobs):
        status = knobs.failure_status
        headers = {"Retry-After": "1"} if status == 429 else None
        return problem_response(status, f"simulated failure of {operation}", headers=headers)
    return None


async def _hang(state: SimulatorState, operation: str, request: Request, seconds: float) -> bool:
    """Hold the call; True when the client disconnected meanwhile.

    Polls rather than waiting on an event because the knobs are switched from
    other threads. The runner calls ``state.release()`` when it stops a server.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    generation = state.generation
    while loop.time() < deadline:
        knobs = state.knobs
        if not (knobs.hang and knobs.applies_to(operation)) or state.generation != generation:
            return False
        if await request.is_disconnected():
            return True
        await asyncio.sleep(_HANG_POLL_SECONDS)
    return False


# --- authentication --------------------------------------------------------


@dataclass(frozen=True)
class Guard:
    """One credential check: the header to read, its auth scheme if any, the secret.

    A refusal is a 401 problem, with a ``WWW-Authenticate`` challenge when
    the header carries a scheme (``Authorization: Bearer ...``).
    """

    header: str
    secret: str
    scheme: str | None = None

    def allows(self, request: Request) -> bool:
        presented = request.headers.get(self.header)
        if presented is None:
            return False
        if self.scheme is not None:
            scheme, _, presented = presented.partition(" ")
            # Auth schemes are case-insensitive (RFC 9110, section 11.1).
            if scheme.lower() != self.scheme.lower():
                return False
        # compare_digest: equal time whatever the prefix shared, as a real service would.
        return hmac.compare_digest(presented.strip().encode(), self.secret.encode())

    def refusal(self) -> Response:
        if self.scheme is None:
            return problem_response(401, f"a valid {self.header} header is required")
        return problem_response(
            401,
            f"a valid {self.scheme.lower()} credential is required",
            headers={"WWW-Authenticate": self.scheme},
        )


def bearer_guard(token: str) -> Guard:
    """``Authorization: Bearer <token>``."""
    return Guard(header="authorization", secret=token, scheme="Bearer")


def api_key_guard(api_key: str, header: str = "X-Api-Key") -> Guard:
    """``<header>: <api_key>``, by default ``X-Api-Key``."""
    return Guard(header=header, secret=api_key)


# --- routes and app --------------------------------------------------------


class ContractRoutes:
    """Builds the routes of one contract, each counted, disturbed and authenticated.

    Order per call: count it (so batching and failed calls are observable),
    apply the knobs (like a proxy in front of the service, before auth),
    check credentials, then run the handler and turn a ``Problem`` into
    problem+json.

    Example:
        >>> routes = ContractRoutes(state, bearer_guard("token"))
        >>> routes.route("/v1/prices", "listPrices", list_prices, "GET", keys=skus_of)
    """

    def __init__(self, state: SimulatorState, guard: Guard) -> None:
        self.state = state
        self.guard = guard

    def route(
        self,
        path: str,
        operation: str,
        endpoint: Endpoint,
        method: str,
        *,
        keys: KeyReader | None = None,
    ) -> Route:
        state, guard = self.state, self.guard

        async def handle(request: Request) -> Response:
            state.record(operation, request.headers, keys(request) if keys else None)
            state.call_started()
            try:
                return await served(request)
            finally:
                state.call_finished()

        async def served(request: Request) -> Response:
            try:
                # Read the body first: a hang then watches for a disconnect
                # without swallowing body messages.
                await request.body()
            except ClientDisconnect:
                return Response(status_code=499)
            disturbed = await inject_faults(state, operation, request)
            if disturbed is not None:
                return disturbed
            if not guard.allows(request):
                return guard.refusal()
            try:
                return await endpoint(request)
            except Problem as problem:
                return problem.response()

        handle.__name__ = operation
        return Route(path, handle, methods=[method], name=operation)


def admin_routes(state: SimulatorState) -> list[BaseRoute]:
    """``/_sim/stats``, ``/_sim/reset`` and ``/_sim/config``: uncounted, unauthenticated."""

    async def stats(request: Request) -> Response:
        return json_response(state.snapshot())

    async def reset(request: Request) -> Response:
        state.reset()
        return json_response(state.snapshot())

    async def get_config(request: Request) -> Response:
        return json_response(state.knobs.to_json())

    async def set_config(request: Request) -> Response:
        try:
            changes = await json_object(request)
            knobs = state.configure(**changes)
        except Problem as problem:
            return problem.response()
        except ValueError as exc:
            return problem_response(400, str(exc))
        return json_response(knobs.to_json())

    return [
        Route("/_sim/stats", stats, methods=["GET"]),
        Route("/_sim/reset", reset, methods=["POST"]),
        Route("/_sim/config", get_config, methods=["GET"]),
        Route("/_sim/config", set_config, methods=["POST"]),
    ]


async def _http_exception(request: Request, exc: Exception) -> Response:
    # Unknown paths and wrong methods answer problem+json like everything else.
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    headers = exc.headers if isinstance(exc, HTTPException) else None
    return problem_response(status, f"{request.method} {request.url.path}", headers=headers)


def simulator_app(state: SimulatorState, routes: Sequence[BaseRoute]) -> Starlette:
    """The Starlette app of one simulator: its contract routes plus the admin routes.

    The state is also reachable as ``app.state.simulator``.
    """
    app = Starlette(
        routes=[*routes, *admin_routes(state)],
        exception_handlers={HTTPException: _http_exception},
    )
    app.state.simulator = state
    return app


# --- strict request readers ------------------------------------------------

CURRENCY_PATTERN = re.compile(r"[A-Z]{3}")


async def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 problem."""
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise Problem(400, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise Problem(400, "the body must be a JSON object")
    return body


def require_str(data: Mapping[str, Any], name: str, *, where: str = "") -> str:
    """A non-empty string field, or a 400 problem naming it."""
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise Problem(400, f"{where}{name} is required and must be a non-empty string")
    return value


def require_positive_int(data: Mapping[str, Any], name: str, *, where: str = "") -> int:
    """An integer field of at least 1 (a JSON ``true`` is not one), or a 400 problem."""
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise Problem(400, f"{where}{name} is required and must be an integer of at least 1")
    return value


def require_lines(
    data: Mapping[str, Any], *, max_items: int | None = None
) -> list[tuple[str, int]]:
    """The ``lines: [{sku, quantity}]`` array both Pricing and Shipping take, or a 400."""
    lines = data.get("lines")
    if not isinstance(lines, list) or not lines:
        raise Problem(400, "lines is required and must be a non-empty array")
    if max_items is not None and len(lines) > max_items:
        raise Problem(400, f"lines may hold at most {max_items} items, got {len(lines)}")
    result: list[tuple[str, int]] = []
    for index, line in enumerate(lines):
        where = f"lines[{index}]."
        if not isinstance(line, dict):
            raise Problem(400, f"lines[{index}] must be an object")
        result.append(
            (
                require_str(line, "sku", where=where),
                require_positive_int(line, "quantity", where=where),
            )
        )
    return result


def repeated_param(request: Request, name: str, *, max_items: int) -> list[str]:
    """A repeated query parameter (``?sku=a&sku=b``) of 1..max_items values, or a 400."""
    values = request.query_params.getlist(name)
    if not values:
        raise Problem(400, f"at least one {name} parameter is required")
    if len(values) > max_items:
        raise Problem(400, f"at most {max_items} {name} parameters are allowed, got {len(values)}")
    return values


__all__ = [
    "CURRENCY_PATTERN",
    "FAILURE_STATUSES",
    "PROBLEM_CONTENT_TYPE",
    "ContractRoutes",
    "Guard",
    "Knobs",
    "Problem",
    "RequestRecord",
    "SimulatorState",
    "admin_routes",
    "api_key_guard",
    "bearer_guard",
    "decimal_str",
    "inject_faults",
    "iso_z",
    "json_object",
    "json_response",
    "problem_response",
    "repeated_param",
    "require_lines",
    "require_positive_int",
    "require_str",
    "simulator_app",
    "utc_now",
]
