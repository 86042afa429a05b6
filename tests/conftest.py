"""The suite's shared fixtures: the simulators, seeded cores, PostgreSQL, Redis and a gateway.

Everything runs for real on loopback: the bolt-on simulators under uvicorn,
SQLite files, and PostgreSQL and Redis when ``GATEWAY_TEST_POSTGRES_URL`` and
``GATEWAY_TEST_REDIS_URL`` name them (the tests needing them skip otherwise).
Isolation is by fresh databases, schemas and keys, never by test order.

A folder's ``conftest.py`` holds what only that folder needs, or narrows a
fixture of this one (``read_path/``: every backend; ``writes/``: a fresh
core and fresh simulators per test; ``simulators/``: an instance of their
own). Helpers are plain modules in ``tests/support/``: nothing imports a
conftest module.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, ExitStack, contextmanager
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from simulators.runner import BackgroundServer, Simulators
from simulators.seed import SeedData, generate
from tests.http.support import Serve
from tests.support.cli import NO_BOLT_ONS
from tests.support.core import READ_SCALE, SeededCores, postgres_or_skip
from tests.support.gateway import AUTH_HEADERS, Gateway, GatewayFactory, settings_for
from tests.support.simulators import StartSimulators, serve_simulators

REDIS_ENV = "GATEWAY_TEST_REDIS_URL"


# --- the bolt-on simulators ----------------------------------------------------------


@pytest.fixture(scope="session")
def seed_data() -> SeedData:
    """The rows the seeder writes at ``READ_SCALE``, to compute expectations from."""
    return generate(READ_SCALE)


@pytest.fixture(scope="session")
def sims(seed_data: SeedData) -> Iterator[Simulators]:
    """The three simulators, served once for the session; they know the shared core's orders.

    Counters and knobs are reset before and after every test that uses them.
    Data created through their contracts (shipments) stays: a test that ships
    a seeded order takes an instance of its own from ``start_simulators``.
    """
    with serve_simulators(seeded_orders=len(seed_data.orders)) as running:
        yield running


@pytest.fixture(scope="session", autouse=True)
def _no_checkout_bolt_ons() -> Iterator[None]:
    """Settings made in tests read no ``bolt-ons/`` of the checkout (a test declares its own)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GATEWAY_BOLT_ONS_DIR", str(NO_BOLT_ONS))
        yield


@pytest.fixture(autouse=True)
def _fresh_simulators(request: pytest.FixtureRequest) -> Iterator[None]:
    if "sims" not in request.fixturenames:
        yield
        return
    sims: Simulators = request.getfixturevalue("sims")
    sims.reset()
    yield
    # A hang left on would hold the next test's calls; reset releases it.
    sims.reset()


@pytest.fixture
def start_simulators(seed_data: SeedData) -> Iterator[StartSimulators]:
    """Start simulators of this test's own (``seeded_orders`` defaults to the shared core's)."""
    with ExitStack() as stack:

        def start(*, seeded_orders: int = len(seed_data.orders)) -> Simulators:
            return stack.enter_context(serve_simulators(seeded_orders=seeded_orders))

        yield start


# --- the core ------------------------------------------------------------------------


@pytest.fixture(scope="session")
async def cores(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SeededCores]:
    """The core factory: empty, fresh seeded or shared seeded databases on either backend."""
    async with SeededCores(tmp_path_factory.mktemp("cores")) as factory:
        yield factory


@pytest.fixture(scope="session")
async def sqlite_core(cores: SeededCores) -> str:
    """The shared SQLite core seeded at ``READ_SCALE`` (read-only: tests must not write)."""
    return await cores.shared("sqlite")


@pytest.fixture(scope="session")
async def postgres_core(cores: SeededCores) -> str:
    """The shared PostgreSQL core seeded at ``READ_SCALE`` (read-only); skips without one."""
    return await cores.shared("postgres")


@pytest.fixture
def core_url(sqlite_core: str) -> str:
    """The core ``gateway`` reads: the shared SQLite one, unless a folder narrows it."""
    return sqlite_core


@pytest.fixture
def postgres_url() -> str:
    """The test PostgreSQL server's base URL; skips the test when none is configured."""
    return postgres_or_skip()


# --- Redis ---------------------------------------------------------------------------


@pytest.fixture
def redis_url() -> str:
    """The test Redis; skips the test when ``GATEWAY_TEST_REDIS_URL`` is not set."""
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"{REDIS_ENV} is not set: these tests need a real Redis")
    return url


@pytest.fixture
def namespace() -> str:
    """A fresh Redis key prefix: isolation by keys, not by test order."""
    return f"test-{uuid.uuid4().hex[:12]}"


# --- the gateway ---------------------------------------------------------------------


@pytest.fixture
async def gateway_factory() -> AsyncIterator[GatewayFactory]:
    """Build gateways from settings (in-process or on loopback); all stop when the test ends."""
    async with AsyncExitStack() as stack:
        yield GatewayFactory(stack)


@pytest.fixture
async def gateway(gateway_factory: GatewayFactory, core_url: str, sims: Simulators) -> Gateway:
    """A running gateway on ``core_url`` and the shared simulators, with the test client's key."""
    return await gateway_factory(settings_for(core_url, sims))


@pytest.fixture(scope="session")
def serve(sqlite_core: str, sims: Simulators) -> Serve:
    """``with serve(**settings) as client:`` a gateway on loopback and a client with a key."""

    @contextmanager
    def served(core: str | None = None, **overrides: Any) -> Iterator[httpx.Client]:
        # ``core``: a core of the test's own, for a test that writes (the shared one is read-only).
        app = create_app(settings_for(core or sqlite_core, sims, **overrides))
        with (
            BackgroundServer(app) as server,
            httpx.Client(base_url=server.url, headers=AUTH_HEADERS, timeout=30) as client,
        ):
            yield client

    return served
