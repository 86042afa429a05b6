"""Fixtures of the write tests: a fresh seeded core per test, and fresh simulators.

Every test gets its own database (a copy of a seeded SQLite file, or a new
PostgreSQL schema) seeded at ``WRITE_SCALE``, and its own simulators: the
Shipping simulator remembers created shipments, and two fresh cores hand
out the same order numbers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from simulators.runner import Simulators
from tests.support.core import BACKENDS, SeededCores
from tests.support.gateway import Gateway, GatewayFactory
from tests.support.simulators import StartSimulators
from tests.writes.support import WRITE_ORDERS, WRITE_SCALE, mutation_settings


@pytest.fixture
def sims(start_simulators: StartSimulators) -> Simulators:
    """Simulators of this test's own, knowing the ``WRITE_SCALE`` core's orders."""
    return start_simulators(seeded_orders=WRITE_ORDERS)


@pytest.fixture(params=BACKENDS)
async def core_url(
    request: pytest.FixtureRequest, cores: SeededCores, tmp_path: Path
) -> AsyncIterator[str]:
    """A freshly seeded core of each backend, this test's alone."""
    async with cores.fresh(request.param, tmp_path, WRITE_SCALE) as url:
        yield url


@pytest.fixture
async def pg_core_url(cores: SeededCores, tmp_path: Path) -> AsyncIterator[str]:
    """A freshly seeded PostgreSQL core (skips without one)."""
    async with cores.fresh("postgres", tmp_path, WRITE_SCALE) as url:
        yield url


@pytest.fixture
async def gateway(gateway_factory: GatewayFactory, core_url: str, sims: Simulators) -> Gateway:
    """A running gateway on this test's core and simulators, with fast outbox rounds."""
    return await gateway_factory(mutation_settings(core_url, sims))


@pytest.fixture
def backend_name(core_url: str) -> str:
    return "postgresql" if core_url.startswith("postgresql") else "sqlite"
