"""Ops fixtures: a seeded SQLite core, the simulators, and helpers to run the CLI.

The subprocess tests run the real ``gateway`` command (``python -m
gateway.cli.main``) with ``GATEWAY_*`` variables pointing at these simulators and
this core, as an operator would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from simulators.runner import Simulators
from tests.gateway.support import CRM_API_KEY, PRICING_TOKEN, SHIPPING_TOKEN
from tests.pg import seeded_postgres, seeded_sqlite

#: 10 customers, 5 products, 200 orders: enough for every relation, quick to seed.
SCALE = 0.01


@pytest.fixture(scope="session")
def ops_sims() -> Iterator[Simulators]:
    with Simulators.start_in_thread(
        pricing_token=PRICING_TOKEN,
        crm_api_key=CRM_API_KEY,
        shipping_token=SHIPPING_TOKEN,
        seeded_orders=200,
    ) as running:
        yield running


@pytest.fixture
def sims(ops_sims: Simulators) -> Simulators:
    """The session's simulators, counters and knobs reset for this test."""
    ops_sims.reset()
    return ops_sims


@pytest.fixture(scope="session")
async def ops_core(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A seeded SQLite core file (read-only for the tests)."""
    return await seeded_sqlite(tmp_path_factory.mktemp("ops-core"), SCALE)


@pytest.fixture(scope="session")
async def ops_pg_core() -> AsyncIterator[str]:
    """A seeded core in a fresh PostgreSQL schema (skips without one)."""
    async with seeded_postgres(SCALE, prefix="ops") as url:
        yield url
