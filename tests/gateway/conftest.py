"""Gateway fixtures: a seeded core per backend, the simulators, and a running app.

The read path is exercised on SQLite always and on PostgreSQL when
``GATEWAY_TEST_POSTGRES_URL`` is set. Seeded databases are shared by the
session (the read tests do not write); the simulators are reset per test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from simulators.runner import Simulators
from simulators.seed import SeedData, generate
from tests.gateway.support import (
    CRM_API_KEY,
    PRICING_TOKEN,
    SHIPPING_TOKEN,
    Gateway,
    running_gateway,
    settings_for,
)
from tests.pg import seeded_postgres, seeded_sqlite

#: 50 customers, 25 products, 1,000 orders.
SCALE = 0.05

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def seed_data() -> SeedData:
    """The rows the seeder writes at ``SCALE``, to compute expectations from."""
    return generate(SCALE)


@pytest.fixture(scope="session")
def sims(seed_data: SeedData) -> Iterator[Simulators]:
    with Simulators.start_in_thread(
        pricing_token=PRICING_TOKEN,
        crm_api_key=CRM_API_KEY,
        shipping_token=SHIPPING_TOKEN,
        seeded_orders=len(seed_data.orders),
    ) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_simulators(sims: Simulators) -> None:
    sims.reset()


@pytest.fixture(scope="session")
async def sqlite_core(tmp_path_factory: pytest.TempPathFactory) -> str:
    return await seeded_sqlite(tmp_path_factory.mktemp("core"), SCALE)


@pytest.fixture(scope="session")
async def postgres_core() -> AsyncIterator[str]:
    async with seeded_postgres(SCALE, prefix="gw") as url:
        yield url


@pytest.fixture(params=BACKENDS)
def core_url(request: pytest.FixtureRequest) -> str:
    """A seeded core on each backend (read-only: tests must not write to it)."""
    name = "sqlite_core" if request.param == "sqlite" else "postgres_core"
    url: str = request.getfixturevalue(name)
    return url


@pytest.fixture
async def gateway(core_url: str, sims: Simulators) -> AsyncIterator[Gateway]:
    async with running_gateway(settings_for(core_url, sims)) as running:
        yield running
