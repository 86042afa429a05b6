"""The protocol tests' shared served gateway (``serve`` is the root conftest's).

Every test here talks HTTP to a real server over the suite's shared seeded
SQLite core and simulators: what a client sees on the wire is what is asserted.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.http.support import Serve


@pytest.fixture(scope="module")
def http(serve: Serve) -> Iterator[httpx.Client]:
    """One served gateway with the default settings, shared by a module's tests."""
    with serve() as client:
        yield client
