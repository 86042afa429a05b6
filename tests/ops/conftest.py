"""Ops fixtures: a seeded SQLite core, the simulators, and helpers to run the CLI.

The subprocess tests run the real ``gateway`` command (``python -m
gateway.cli``) with ``GATEWAY_*`` variables pointing at these simulators and
this core, as an operator would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from adapters.core import CoreAdapter
from simulators.runner import Simulators
from simulators.seed import seed
from tests.gateway.support import CRM_API_KEY, PRICING_TOKEN, SHIPPING_TOKEN
from tests.pg import SKIP_REASON, fresh_pg_schema, postgres_url

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
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('ops-core') / 'core.db'}"
    async with CoreAdapter(url) as core:
        await core.create_schema()
        await seed(core, scale=SCALE)
    return url


@pytest.fixture(scope="session")
async def ops_pg_core() -> AsyncIterator[str]:
    """A seeded core in a fresh PostgreSQL schema (skips without one)."""
    base = postgres_url()
    if base is None:
        pytest.skip(SKIP_REASON)
    async with fresh_pg_schema(base, prefix="ops") as url:
        async with CoreAdapter(url) as core:
            await core.create_schema()
            await seed(core, scale=SCALE)
        yield url
