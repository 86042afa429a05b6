"""Fixtures of the cache tests: the simulators (reset per test) and a Redis URL if any."""

from __future__ import annotations

import os
import uuid

import pytest

from tests.resilience.support import _fresh_simulators, sims

REDIS_ENV = "GATEWAY_TEST_REDIS_URL"
__all__ = ["_fresh_simulators", "namespace", "redis_url", "sims"]


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
