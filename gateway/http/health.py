"""Liveness and readiness endpoints.

``/healthz`` says the process serves requests. ``/readyz`` says whether this
instance should get traffic: the core must answer (it is the system of
record); each bolt-on is probed and reported, but a bolt-on that is down
does not make the gateway unready, since it costs only its own fields.

``/readyz`` needs no credential and is polled by load balancers, so it must
not multiply into backend traffic: each backend's probe result is reused for
``readiness_cache_seconds``, concurrent calls share the probe in flight, and
the bolt-on probes go around the breaker and retries (one attempt, short
timeout), so polling neither hammers a failing bolt-on nor moves its circuit.
The circuit state and draining are read fresh on every call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.errors import BackendError
from gateway.backends import Backends

PROBE_TIMEOUT = 1.0

Check = Callable[[], Awaitable[object]]
ProbeResult = dict[str, object]


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def _probe(check: Check) -> ProbeResult:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check(), PROBE_TIMEOUT)
    except TimeoutError:
        return {"status": "down", "reason": "timed out"}
    except BackendError as exc:
        return {"status": "down", "reason": exc.reason or exc.code}
    return {"status": "up", "latencyMs": round((time.perf_counter() - started) * 1000, 1)}


class ProbeCache:
    """Each backend's last probe result, reused for ``max_age`` seconds; one probe at a time.

    Args:
        max_age: seconds a result is served again (0: every call probes, though
            concurrent calls still share the probe in flight).
        clock: monotonic seconds; replaceable for tests.

    Example:
        >>> probes = ProbeCache(max_age=1.0)
        >>> await probes.result("pricing", backends.pricing.probe)
        {'status': 'up', 'latencyMs': 1.2}
    """

    def __init__(self, max_age: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age = max_age
        self._clock = clock
        self._results: dict[str, tuple[float, ProbeResult]] = {}
        self._running: dict[str, asyncio.Task[ProbeResult]] = {}

    async def result(self, name: str, check: Check) -> ProbeResult:
        """The result of ``check`` for ``name``: cached, shared in flight, or probed now."""
        cached = self._results.get(name)
        if cached is not None and self._clock() - cached[0] < self.max_age:
            return dict(cached[1])
        task = self._running.get(name)
        if task is None:
            task = asyncio.ensure_future(self._run(name, check))
            self._running[name] = task
        # Shielded: a caller that goes away must not cancel the probe the others await.
        return dict(await asyncio.shield(task))

    async def _run(self, name: str, check: Check) -> ProbeResult:
        try:
            result = await _probe(check)
            self._results[name] = (self._clock(), result)
            return result
        finally:
            del self._running[name]


async def readiness(
    backends: Backends, *, draining: bool = False, probes: ProbeCache | None = None
) -> tuple[bool, dict[str, object]]:
    """Probe every backend concurrently; ready when the core answers and we are not draining.

    Args:
        probes: reuse and share probe results through this cache (``/readyz``);
            ``None`` probes every backend now.
    """
    cache = probes if probes is not None else ProbeCache(0.0)
    checks: dict[str, Check] = {"core": backends.core.ping}
    # Every bolt-on by its service name: the built-in ones, then the declared ones.
    checks.update({adapter.service: adapter.probe for adapter in backends.bolt_ons})
    answers = await asyncio.gather(*(cache.result(name, check) for name, check in checks.items()))
    results = dict(zip(checks, answers, strict=True))
    # Read now, not cached: the breaker is moved by real traffic, never by the probes.
    for service, breaker in backends.breakers.items():
        results[service]["circuit"] = breaker.state
    ready = results["core"]["status"] == "up" and not draining
    return ready, {
        "status": "ready" if ready else "unready",
        "draining": draining,
        "backends": results,
    }


async def readyz(request: Request) -> Response:
    state = request.app.state
    if getattr(state, "draining", False):
        # Answer at once: a load balancer's check must see the drain within its timeout.
        return JSONResponse({"status": "unready", "draining": True, "backends": {}}, 503)
    probes: ProbeCache | None = getattr(state, "readiness_probes", None)
    if probes is None:
        # Made on first use, in the serving loop (no await between the look and the set).
        probes = state.readiness_probes = ProbeCache(state.settings.readiness_cache_seconds)
    ready, body = await readiness(state.backends, draining=False, probes=probes)
    configuration = getattr(state, "configuration", None)
    if configuration is not None:
        # Which clients/JWT configuration this process serves (gateway.security.reload).
        body["configuration"] = configuration.live.as_json()
    return JSONResponse(body, status_code=200 if ready else 503)
