"""Core adapter fixtures: every test runs against SQLite and, when configured, PostgreSQL.

``database_url`` is a fresh, empty database per test (a tmp_path SQLite file
or a new PostgreSQL schema). ``seeded`` is one seeded database per module and
backend, shared by the read-only tests of that module.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.core import CoreAdapter
from simulators.seed import SeedData, SeedSummary, generate, seed
from tests.pg import SKIP_REASON, fresh_pg_schema, postgres_url

#: 50 customers, 25 products, 1,000 orders: every code path, in a fraction of a second.
SCALE = 0.05

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


async def _database(backend: str, folder: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{folder / 'core.db'}"
        return
    base = postgres_url()
    if base is None:
        pytest.skip(SKIP_REASON)
    async with fresh_pg_schema(base, prefix="core") as url:
        yield url


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of each backend, no tables."""
    async for url in _database(request.param, tmp_path):
        yield url


@pytest.fixture
async def core(database_url: str) -> AsyncIterator[CoreAdapter]:
    """An open adapter on an empty database with the core tables."""
    async with CoreAdapter(database_url) as adapter:
        await adapter.create_schema()
        yield adapter


class Seeded:
    """A seeded core plus the rows the seeder wrote, to compute expectations from."""

    def __init__(self, core: CoreAdapter, summary: SeedSummary, data: SeedData) -> None:
        self.core = core
        self.summary = summary
        self.data = data


@pytest.fixture(scope="module", params=BACKENDS)
async def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Seeded]:
    """A core seeded at ``SCALE``, shared by a module's read-only tests."""
    async for url in _database(request.param, tmp_path_factory.mktemp("seeded")):
        async with CoreAdapter(url) as adapter:
            await adapter.create_schema()
            summary = await seed(adapter, scale=SCALE)
            yield Seeded(adapter, summary, generate(SCALE))


@pytest.fixture
def pg_base() -> str:
    """The test server's base URL; skips the test when none is configured."""
    base = postgres_url()
    if base is None:
        pytest.skip(SKIP_REASON)
    return base
