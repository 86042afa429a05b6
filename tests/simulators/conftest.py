"""The simulators' own tests: an instance of their own for the package, and HTTP clients.

Not the session's shared ``sims``: these tests create shipments for seeded
order numbers and count every shipment created. Counters and knobs are reset
around each test (the root ``_fresh_simulators``); created shipments persist,
so tests use fresh order numbers.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from simulators.runner import Simulators
from tests.simulators.support import SEEDED_ORDERS
from tests.support.simulators import CRM_API_KEY, PRICING_TOKEN, SHIPPING_TOKEN, serve_simulators


@pytest.fixture(scope="package")
def sims() -> Iterator[Simulators]:
    with serve_simulators(seeded_orders=SEEDED_ORDERS) as running:
        yield running


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
