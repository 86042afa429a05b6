"""The read path runs on every backend: ``core_url`` is the shared seeded core of each.

The cores are shared by the session (the read tests do not write); the
simulators are the session's, reset around each test.
"""

from __future__ import annotations

import pytest

from tests.support.core import BACKENDS


@pytest.fixture(params=BACKENDS)
def core_url(request: pytest.FixtureRequest) -> str:
    """A seeded core on each backend (read-only: tests must not write to it)."""
    name = "sqlite_core" if request.param == "sqlite" else "postgres_core"
    url: str = request.getfixturevalue(name)
    return url
