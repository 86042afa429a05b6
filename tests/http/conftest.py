"""The gateway served by uvicorn on loopback, for the GraphQL-over-HTTP protocol tests.

Every test here talks HTTP to a real server (``BackgroundServer``) over a
seeded SQLite core and the bolt-on simulators: what a client sees on the
wire is what is asserted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from simulators.runner import BackgroundServer, Simulators
from simulators.seed import generate
from tests.gateway.support import (
    AUTH_HEADERS,
    CRM_API_KEY,
    PRICING_TOKEN,
    SHIPPING_TOKEN,
    settings_for,
)
from tests.pg import seeded_sqlite

#: 50 customers, 25 products, 1,000 orders.
SCALE = 0.05

Serve = Callable[..., AbstractContextManager[httpx.Client]]


@pytest.fixture(scope="session")
def sims() -> Iterator[Simulators]:
    with Simulators.start_in_thread(
        pricing_token=PRICING_TOKEN,
        crm_api_key=CRM_API_KEY,
        shipping_token=SHIPPING_TOKEN,
        seeded_orders=len(generate(SCALE).orders),
    ) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_simulators(sims: Simulators) -> None:
    sims.reset()


@pytest.fixture(scope="session")
async def sqlite_core(tmp_path_factory: pytest.TempPathFactory) -> str:
    return await seeded_sqlite(tmp_path_factory.mktemp("core"), SCALE)


@pytest.fixture(scope="session")
def serve(sqlite_core: str, sims: Simulators) -> Serve:
    """``with serve(**settings) as client:`` a gateway on loopback and a client with a key."""

    @contextmanager
    def served(**overrides: Any) -> Iterator[httpx.Client]:
        app = create_app(settings_for(sqlite_core, sims, **overrides))
        with (
            BackgroundServer(app) as server,
            httpx.Client(base_url=server.url, headers=AUTH_HEADERS, timeout=30) as client,
        ):
            yield client

    return served


@pytest.fixture(scope="module")
def http(serve: Serve) -> Iterator[httpx.Client]:
    """One served gateway with the default settings, shared by a module's tests."""
    with serve() as client:
        yield client
