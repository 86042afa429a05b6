"""Fixtures of the resilience tests: the bolt-on simulators over loopback HTTP.

The simulators are shared by the session and reset before every test, so
each test starts with no latency, no failures and zeroed counters.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from simulators.runner import Simulators
from tests.resilience.support import CRM_API_KEY, PRICING_TOKEN, SHIPPING_TOKEN


@pytest.fixture(scope="session")
def sims() -> Iterator[Simulators]:
    with Simulators.start_in_thread(
        pricing_token=PRICING_TOKEN,
        crm_api_key=CRM_API_KEY,
        shipping_token=SHIPPING_TOKEN,
        seeded_orders=200,
    ) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_simulators(sims: Simulators) -> Iterator[None]:
    sims.reset()
    yield
    # A hang left on would hold the next test's calls; reset releases it.
    sims.reset()
