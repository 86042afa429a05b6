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


async def test_a_success_resets_the_failure_count(sims: Simulators) -> None:
    breaker, _ = breaker_and_log(threshold=3)
    async with pricing(sims, resilience("pricing", retry=NO_RETRY, breaker=breaker)) as adapter:
        for _ in range(3):
            sims.pricing.state.configure(failure_rate=1.0)
            for _ in range(2):
                with pytest.raises(BackendUnavailable):
                    await adapter.prices(["SKU-00001"])
            sims.pricing.state.configure(failure_rate=0.0)
            await adapter.prices(["SKU-00001"])
    assert breaker.state == "closed"


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
    assert shipping == {"status": "down", "reason": "circuit open", "circuit": "open"}
    assert body["backends"]["pricing"]["circuit"] == "closed"  # type: ignore[index]
    assert seen == [("shipping", "open")]
