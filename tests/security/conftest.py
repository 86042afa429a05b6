"""Fixtures of the security tests: JWT signing keys.

These tests run on the shared SQLite core only (the root ``core_url``):
access control does not depend on the core's engine, and the read path is
covered on PostgreSQL elsewhere.
"""

from __future__ import annotations

import pytest

from tests.security.support import RsaKeys, rsa_key_pair


@pytest.fixture(scope="session")
def rsa_keys() -> RsaKeys:
    return rsa_key_pair()


@pytest.fixture(scope="session")
def other_rsa_keys() -> RsaKeys:
    return rsa_key_pair()
