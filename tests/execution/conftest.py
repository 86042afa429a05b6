"""Fixtures of the differential tests: the gateway's schema over a seeded core and the simulators.

The suite's shared seeded SQLite core and simulators (the root conftest's
``sqlite_core`` and ``sims``), adapters opened once per session, and the bolt-on cache off so that
both executors of one document reach the same backends with the same calls.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gateway.app import create_schema
from gateway.backends import Backends
from simulators.runner import Simulators
from tests.execution.differential import Differential
from tests.support.gateway import settings_for

WARM_UP = """{ customers(first: 50) { edges { node { insights { healthScore }
  orders(first: 5) { edges { node { shipment { status } lines { product {
  price { listPrice } } } } } } } } } }"""


@pytest.fixture(scope="session")
async def differential(sqlite_core: str, sims: Simulators) -> AsyncIterator[Differential]:
    # Nothing may change between the two runs of one document: no circuit opened by
    # failures, no retry, no timeout (a new connection's 0.5 s, a call's 2 s) and no
    # bulkhead refusal (a slot waited for over 0.5 s by one of 50 concurrent CRM calls)
    # because the shared machine was slow for a moment (seen at load average 16).
    settings = settings_for(
        sqlite_core,
        sims,
        cache_enabled=False,
        breaker_failure_threshold=1_000_000,
        retry_attempts=1,
        pricing_timeout=30.0,
        crm_timeout=30.0,
        shipping_timeout=30.0,
        bulkhead_max_wait=30.0,
        http_connect_timeout=30.0,
    )
    schema = create_schema(settings)  # its protected fields guarded, as the app's
    async with Backends.from_settings(settings) as backends:
        differential = Differential(schema._schema, settings, backends, sims)
        # Open the bolt-on connection pools first: on a cold pool, 50 concurrent first
        # calls can fail to connect on this shared machine, and retries are off here.
        for _ in range(2):
            await differential.compare(WARM_UP)
        yield differential
