"""Security fixtures: the gateway fixtures (seeded SQLite core, simulators), keys and JWT keys.

These tests run on the SQLite core only: access control does not depend on
the core's engine, and the read path is covered on PostgreSQL elsewhere.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from simulators.runner import Simulators
from tests.gateway import conftest as gateway_fixtures
from tests.gateway.support import Gateway, running_gateway, settings_for

REDIS_ENV = "GATEWAY_TEST_REDIS_URL"

# The gateway tests' fixtures, re-used: seeded SQLite core, simulators reset per test.
seed_data = gateway_fixtures.seed_data
sims = gateway_fixtures.sims
sqlite_core = gateway_fixtures.sqlite_core
_fresh_simulators = gateway_fixtures._fresh_simulators


@dataclass(frozen=True)
class RsaKeys:
    """An RSA key pair in PEM, for RS256 tokens."""

    private_pem: str
    public_pem: str


def _rsa_keys() -> RsaKeys:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return RsaKeys(private, public)


@pytest.fixture(scope="session")
def rsa_keys() -> RsaKeys:
    return _rsa_keys()


@pytest.fixture(scope="session")
def other_rsa_keys() -> RsaKeys:
    return _rsa_keys()


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"{REDIS_ENV} is not set: these tests need a real Redis")
    return url


@pytest.fixture
def fresh_prefix() -> str:
    """A Redis key prefix no other test uses."""
    return f"gw-test:{uuid.uuid4().hex}:"


@pytest.fixture
async def gateway(sqlite_core: str, sims: Simulators) -> AsyncIterator[Gateway]:
    async with running_gateway(settings_for(sqlite_core, sims)) as running:
        yield running


def bare_client(gateway: Gateway, **headers: str) -> httpx.AsyncClient:
    """An in-process client of a running gateway that sends no key unless given one."""
    transport = httpx.ASGITransport(app=gateway.app)
    return httpx.AsyncClient(transport=transport, base_url="http://gateway", headers=headers)
