"""The circuit breaker: opens on repeated failures, fails fast, probes, closes."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from adapters.errors import BackendNotFound, BackendUnavailable
from adapters.resilience import CircuitBreaker, CircuitState, RetryPolicy
from gateway.backends import Backends
from gateway.http.health import readiness
from simulators.runner import Simulators
from tests.support.bolt_ons import backend_settings, pricing, resilience

NO_RETRY = RetryPolicy(attempts=1)


def breaker_and_log(
    threshold: int = 3, reset: float = 0.2
) -> tuple[CircuitBreaker, list[tuple[str, CircuitState]]]:
    changes: list[tuple[str, CircuitState]] = []
    breaker = CircuitBreaker(
        "pricing",
        failure_threshold=threshold,
        reset_timeout=reset,
        on_state_change=lambda service, state: changes.append((service, state)),
    )
    return breaker, changes


async def test_it_opens_after_repeated_failures_and_then_fails_fast(sims: Simulators) -> None:
    breaker, changes = breaker_and_log(threshold=3, reset=30)
    sims.pricing.state.configure(failure_rate=1.0, failure_status=503)
    async with pricing(sims, resilience("pricing", retry=NO_RETRY, breaker=breaker)) as adapter:
        for _ in range(3):
            with pytest.raises(BackendUnavailable) as raised:
                await adapter.prices(["SKU-00001"])
            assert raised.value.status == 503
        assert breaker.state == "open"
        started = time.perf_counter()
        with pytest.raises(BackendUnavailable) as raised:
            await adapter.prices(["SKU-00001"])
        assert time.perf_counter() - started < 0.5
    assert raised.value.reason == "circuit open"
    assert raised.value.extensions == {"code": "UPSTREAM_UNAVAILABLE", "service": "pricing"}
    assert sims.pricing.state.count("listPrices") == 3, "an open circuit must not call"
    assert changes == [("pricing", "open")]


async def test_a_failure_rate_below_the_threshold_never_opens_it(sims: Simulators) -> None:
    breaker, changes = breaker_and_log(threshold=3)
    async with pricing(sims, resilience("pricing", retry=NO_RETRY, breaker=breaker)) as adapter:
        for _ in range(10):  # 10 failed calls of 30: a third, under the rate of a half
            sims.pricing.state.configure(failure_rate=1.0)
            with pytest.raises(BackendUnavailable):
                await adapter.prices(["SKU-00001"])
            sims.pricing.state.configure(failure_rate=0.0)
            for _ in range(2):
                await adapter.prices(["SKU-00001"])
    assert breaker.window_counts() == (30, 10)
    assert breaker.state == "closed"
    assert changes == []


async def test_a_call_that_succeeds_on_a_retry_is_a_success(sims: Simulators) -> None:
    # The breaker judges calls after their retries, not attempts: with a threshold
    # of one failure, counting the failed first attempt would open it.
    breaker, _ = breaker_and_log(threshold=1)
    # Seeded: with this seed and rate the first attempt fails and a later one succeeds.
    sims.pricing.state.configure(failure_rate=0.5, failure_status=503, seed=3)
    policy = RetryPolicy(attempts=6, base_delay=0.001)
    async with pricing(sims, resilience("pricing", retry=policy, breaker=breaker)) as adapter:
        [price] = await adapter.prices(["SKU-00001"])
    assert price is not None
    assert sims.pricing.state.count("listPrices") > 1
    assert breaker.window_counts() == (1, 0)
    assert breaker.state == "closed"


class FakeClock:
    """Monotonic seconds that move only when told (the window's logic, not its timing)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_it_needs_the_failure_floor_as_well_as_the_rate() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("crm", failure_threshold=5, failure_rate=0.5, clock=clock)
    for _ in range(4):
        breaker.record(success=False)
    assert breaker.state == "closed", "4 of 4 failed, but under the floor of 5"
    breaker.record(success=False)
    assert breaker.state == "open"


def test_failures_older_than_the_window_are_forgotten() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("crm", failure_threshold=5, failure_rate=0.5, window=10, clock=clock)
    for _ in range(4):
        breaker.record(success=False)
    clock.now += 10.5
    for _ in range(4):
        breaker.record(success=False)
    assert breaker.window_counts() == (4, 4)
    assert breaker.state == "closed"
    clock.now += 1
    breaker.record(success=False)
    assert breaker.state == "open"


def test_a_probe_that_closes_it_starts_a_clean_window() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("crm", failure_threshold=2, reset_timeout=5, clock=clock)
    breaker.record(success=False)
    breaker.record(success=False)
    assert breaker.state == "open"
    clock.now += 5
    breaker.before_call()  # the probe
    breaker.record(success=True)
    assert breaker.state == "closed"
    assert breaker.window_counts() == (0, 0)
    breaker.record(success=False)
    assert breaker.state == "closed", "one failure after recovery is under the floor"


def test_a_cancelled_probe_frees_its_slot() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("crm", failure_threshold=1, reset_timeout=5, clock=clock)
    breaker.record(success=False)
    clock.now += 5
    breaker.before_call()
    with pytest.raises(BackendUnavailable):
        breaker.before_call()  # one probe at a time
    breaker.release()  # the probe's caller went away: no outcome
    breaker.before_call()  # another probe may go
    assert breaker.state == "half_open"


async def test_client_errors_do_not_open_it(sims: Simulators) -> None:
    breaker, _ = breaker_and_log(threshold=2)
    async with pricing(sims, resilience("pricing", retry=NO_RETRY, breaker=breaker)) as adapter:
        for _ in range(4):
            with pytest.raises(BackendNotFound):
                await adapter.request("GET", "/v1/nowhere", operation="nowhere")
    assert breaker.state == "closed"


async def test_half_open_probe_success_closes_it(sims: Simulators) -> None:
    breaker, changes = breaker_and_log(threshold=2, reset=0.2)
    sims.pricing.state.configure(failure_rate=1.0)
    async with pricing(sims, resilience("pricing", retry=NO_RETRY, breaker=breaker)) as adapter:
        for _ in range(2):
            with pytest.raises(BackendUnavailable):
                await adapter.prices(["SKU-00001"])
        assert breaker.state == "open"
        await asyncio.sleep(0.25)
        assert breaker.state == "half_open"
        sims.pricing.state.configure(failure_rate=0.0)
        [price] = await adapter.prices(["SKU-00001"])
    assert price is not None
    assert breaker.state == "closed"
    assert [state for _, state in changes] == ["open", "half_open", "closed"]


async def test_half_open_probe_failure_opens_it_again(sims: Simulators) -> None:
    breaker, changes = breaker_and_log(threshold=2, reset=0.2)
    sims.pricing.state.configure(failure_rate=1.0)
    async with pricing(sims, resilience("pricing", retry=NO_RETRY, breaker=breaker)) as adapter:
        for _ in range(2):
            with pytest.raises(BackendUnavailable):
                await adapter.prices(["SKU-00001"])
        await asyncio.sleep(0.25)
        with pytest.raises(BackendUnavailable) as raised:
            await adapter.prices(["SKU-00001"])
        assert raised.value.status == 503  # the probe itself went out
        with pytest.raises(BackendUnavailable) as raised:
            await adapter.prices(["SKU-00001"])
    assert raised.value.reason == "circuit open"
    assert sims.pricing.state.count("listPrices") == 3
    assert [state for _, state in changes] == ["open", "half_open", "open"]


async def test_half_open_lets_one_probe_through_at_a_time(sims: Simulators) -> None:
    breaker, _ = breaker_and_log(threshold=1, reset=0.1)
    sims.pricing.state.configure(failure_rate=1.0)
    async with pricing(sims, resilience("pricing", retry=NO_RETRY, breaker=breaker)) as adapter:
        with pytest.raises(BackendUnavailable):
            await adapter.prices(["SKU-00001"])
        await asyncio.sleep(0.15)
        sims.pricing.state.configure(failure_rate=0.0, latency=0.1)
        results = await asyncio.gather(
            *(adapter.prices(["SKU-00001"]) for _ in range(5)), return_exceptions=True
        )
    fast_failures = [r for r in results if isinstance(r, BackendUnavailable)]
    assert len(fast_failures) == 4
    assert all(r.reason == "circuit open" for r in fast_failures)
    assert sims.pricing.state.count("listPrices") == 2  # the first failure and one probe
    assert breaker.state == "closed"


async def test_readyz_shows_each_circuit(sims: Simulators, tmp_path: Path) -> None:
    seen: list[tuple[str, str]] = []
    settings = backend_settings(
        tmp_path, sims, retry_attempts=1, breaker_failure_threshold=2, breaker_reset_timeout=30
    )
    backends = Backends.from_settings(
        settings, on_circuit_change=lambda service, state: seen.append((service, state))
    )
    async with backends:
        _, body = await readiness(backends)
        states = {name: info.get("circuit") for name, info in body["backends"].items()}  # type: ignore[union-attr]
        assert states == {"core": None, "pricing": "closed", "crm": "closed", "shipping": "closed"}
        sims.shipping.state.configure(failure_rate=1.0)
        for _ in range(2):
            with pytest.raises(BackendUnavailable):
                await backends.shipping.shipments(["SO-000004"])
        _, body = await readiness(backends)
    shipping = body["backends"]["shipping"]  # type: ignore[index]
    # The probe goes around the breaker: it reports the bolt-on's own answer, and the
    # circuit opened by the traffic beside it.
    assert shipping == {"status": "down", "reason": "HTTP 503", "circuit": "open"}
    assert body["backends"]["pricing"]["circuit"] == "closed"  # type: ignore[index]
    assert seen == [("shipping", "open")]
