"""/readyz's probe cache: results reused for a while, one probe in flight per backend."""

from __future__ import annotations

import asyncio

from adapters.errors import BackendUnavailable
from gateway.http.health import ProbeCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Backend:
    """A probe target that counts its probes and answers when released."""

    def __init__(self) -> None:
        self.probes = 0
        self.answer = asyncio.Event()
        self.answer.set()
        self.down = False

    async def probe(self) -> None:
        self.probes += 1
        await self.answer.wait()
        if self.down:
            raise BackendUnavailable("pricing", "HTTP 503", status=503)


async def test_a_result_is_reused_until_it_is_max_age_old() -> None:
    clock, backend = Clock(), Backend()
    cache = ProbeCache(2.0, clock=clock)
    assert (await cache.result("pricing", backend.probe))["status"] == "up"
    backend.down = True
    clock.now += 1.9
    assert (await cache.result("pricing", backend.probe))["status"] == "up"
    assert backend.probes == 1
    clock.now += 0.2
    assert await cache.result("pricing", backend.probe) == {"status": "down", "reason": "HTTP 503"}
    assert backend.probes == 2


async def test_concurrent_callers_share_one_probe_and_may_leave_it() -> None:
    backend = Backend()
    backend.answer.clear()
    cache = ProbeCache(0.0)  # nothing reused: only the sharing in flight is left
    callers = [asyncio.ensure_future(cache.result("crm", backend.probe)) for _ in range(50)]
    await asyncio.sleep(0.01)
    callers[0].cancel()  # one client hangs up
    backend.answer.set()
    results = await asyncio.gather(*callers[1:])
    assert backend.probes == 1
    assert all(result["status"] == "up" for result in results)
    results[0]["circuit"] = "open"  # each caller gets its own copy to annotate
    assert "circuit" not in results[1]
