"""Fixtures of the cache tests: the simulators (reset per test) and a Redis URL if any."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from simulators.runner import Simulators
from tests.resilience.support import CRM_API_KEY, PRICING_TOKEN, SHIPPING_TOKEN

REDIS_ENV = "GATEWAY_TEST_REDIS_URL"


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
    sims.reset()


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"{REDIS_ENV} is not set: these tests need a real Redis")
    return url


@pytest.fixture
def namespace() -> str:
    """A fresh key prefix: isolation by keys, not by test order."""
    return f"test-{uuid.uuid4().hex[:12]}"
