"""The three simulators served once per session on loopback ports, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from simulators.runner import Simulators
from tests.simulators.support import CRM_API_KEY, PRICING_TOKEN, SEEDED_ORDERS, SHIPPING_TOKEN


@pytest.fixture(scope="session")
def sims() -> Iterator[Simulators]:
    with Simulators.start_in_thread(
        pricing_token=PRICING_TOKEN,
        crm_api_key=CRM_API_KEY,
        shipping_token=SHIPPING_TOKEN,
        seeded_orders=SEEDED_ORDERS,
    ) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_counters(sims: Simulators) -> None:
    # Counters and knobs per test; created shipments persist, so tests use fresh order numbers.
    sims.reset()


@pytest.fixture
def pricing(sims: Simulators) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=sims.pricing.url, headers={"Authorization": f"Bearer {PRICING_TOKEN}"}
    ) as client:
        yield client


@pytest.fixture
def crm(sims: Simulators) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sims.crm.url, headers={"X-Api-Key": CRM_API_KEY}) as client:
        yield client


@pytest.fixture
def shipping(sims: Simulators) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=sims.shipping.url, headers={"Authorization": f"Bearer {SHIPPING_TOKEN}"}
    ) as client:
        yield client


@pytest.fixture
def anonymous() -> Iterator[httpx.Client]:
    """A client without credentials, for the admin endpoints and 401 checks."""
    with httpx.Client() as client:
        yield client
