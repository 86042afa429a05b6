"""Mutation fixtures: a fresh seeded core per test (mutations write), fresh simulators.

Every test gets its own database (a new SQLite file, or a new PostgreSQL
schema) seeded at ``SCALE``, and its own simulators: the Shipping simulator
remembers created shipments, and two fresh cores hand out the same order
numbers.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from adapters.core import CoreAdapter
from simulators.runner import Simulators
from simulators.seed import seed
from tests.gateway.support import (
    CRM_API_KEY,
    PRICING_TOKEN,
    SHIPPING_TOKEN,
    Gateway,
    running_gateway,
)
from tests.mutations.support import mutation_settings
from tests.pg import seeded_postgres

#: 20 customers, 10 products, 3 warehouses, 400 orders.
SCALE = 0.02

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

#: For tests of input validation, which never reach a dialect-specific write.
SQLITE_ONLY = pytest.mark.parametrize("core_url", ["sqlite"], indirect=True)


@pytest.fixture
def sims() -> Iterator[Simulators]:
    with Simulators.start_in_thread(
        pricing_token=PRICING_TOKEN,
        crm_api_key=CRM_API_KEY,
        shipping_token=SHIPPING_TOKEN,
        seeded_orders=int(20_000 * SCALE),
    ) as running:
        yield running


@pytest.fixture(scope="session")
async def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One seeded SQLite file, copied for each test (seeding it is the slow part)."""
    path = tmp_path_factory.mktemp("template") / "core.db"
    async with CoreAdapter(f"sqlite+aiosqlite:///{path}") as core:
        await core.create_schema()
        await seed(core, scale=SCALE)
        async with core.engine.connect() as conn:
            # Fold the WAL into the file, so a copy of the file alone is complete.
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


async def _seeded(backend: str, folder: Path, template: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        path = folder / "core.db"
        shutil.copyfile(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    async with seeded_postgres(SCALE, prefix="mut") as url:
        yield url


@pytest.fixture(params=BACKENDS)
async def core_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> AsyncIterator[str]:
    """A freshly seeded core of each backend, this test's alone."""
    async for url in _seeded(request.param, tmp_path, sqlite_template):
        yield url


@pytest.fixture
async def pg_core_url(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[str]:
    """A freshly seeded PostgreSQL core (skips without one)."""
    async for url in _seeded("postgres", tmp_path, sqlite_template):
        yield url


@pytest.fixture
async def gateway(core_url: str, sims: Simulators) -> AsyncIterator[Gateway]:
    async with running_gateway(mutation_settings(core_url, sims)) as running:
        yield running


@pytest.fixture
def backend_name(core_url: str) -> str:
    return "postgresql" if core_url.startswith("postgresql") else "sqlite"
