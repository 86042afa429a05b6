"""Liveness and readiness endpoints.

``/healthz`` says the process serves requests. ``/readyz`` says whether this
instance should get traffic: the core must answer (it is the system of
record); each bolt-on is probed and reported, but a bolt-on that is down
does not make the gateway unready, since it costs only its own fields.
"""

from __future__ import annotations

import asyncio
import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.errors import BackendError
from gateway.backends import Backends

PROBE_TIMEOUT = 1.0


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def _probe(name: str, check: object) -> tuple[str, dict[str, object]]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check, PROBE_TIMEOUT)  # type: ignore[arg-type]
    except TimeoutError:
        return name, {"status": "down", "reason": "timed out"}
    except BackendError as exc:
        return name, {"status": "down", "reason": exc.reason or exc.code}
    return name, {"status": "up", "latencyMs": round((time.perf_counter() - started) * 1000, 1)}


async def readiness(
    backends: Backends, *, draining: bool = False
) -> tuple[bool, dict[str, object]]:
    """Probe every backend concurrently; ready when the core answers and we are not draining."""
    results = dict(
        await asyncio.gather(
            _probe("core", backends.core.ping()),
            _probe("pricing", backends.pricing.probe()),
            _probe("crm", backends.crm.probe()),
            _probe("shipping", backends.shipping.probe()),
        )
    )
    # Read after the probes: a probe may have just closed (or opened) a circuit.
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
    ready, body = await readiness(state.backends, draining=False)
    return JSONResponse(body, status_code=200 if ready else 503)
