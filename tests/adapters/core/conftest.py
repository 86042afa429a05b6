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
from simulators.seed import generate, seed
from tests.adapters.core.support import Seeded
from tests.support.core import BACKENDS, READ_SCALE, SeededCores


@pytest.fixture(params=BACKENDS)
async def database_url(
    request: pytest.FixtureRequest, cores: SeededCores, tmp_path: Path
) -> AsyncIterator[str]:
    """An empty database of each backend, no tables."""
    async with cores.empty(request.param, tmp_path) as url:
        yield url


@pytest.fixture
async def core(database_url: str) -> AsyncIterator[CoreAdapter]:
    """An open adapter on an empty database with the core tables."""
    async with CoreAdapter(database_url) as adapter:
        await adapter.create_schema()
        yield adapter


@pytest.fixture(scope="module", params=BACKENDS)
async def seeded(
    request: pytest.FixtureRequest, cores: SeededCores, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Seeded]:
    """A core seeded at ``READ_SCALE`` by the seeder itself, shared by a module's read tests."""
    async with (
        cores.empty(request.param, tmp_path_factory.mktemp("seeded")) as url,
        CoreAdapter(url) as adapter,
    ):
        await adapter.create_schema()
        summary = await seed(adapter, scale=READ_SCALE)
        yield Seeded(adapter, summary, generate(READ_SCALE))
