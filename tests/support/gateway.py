"""A gateway under test: settings aimed at the simulators, the app running, a client for it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.backends import Backends
from gateway.security.clients import ALL_SCOPES, hash_key
from gateway.settings import Settings
from simulators.runner import BackgroundServer, Simulators
from tests.support.simulators import CRM_API_KEY, PRICING_TOKEN, SHIPPING_TOKEN

#: The API key of the test client that ``settings_for`` configures with every scope.
TEST_CLIENT_ID = "test-client"
TEST_API_KEY = "gwk_test-client-key-with-every-scope"
AUTH_HEADERS = {"X-Api-Key": TEST_API_KEY}

#: A query that calls Pricing once.
PRICED_QUERY = """query OpsPriced { product(sku: "SKU-00001") { sku price { listPrice } } }"""


def client_config(**overrides: Any) -> dict[str, Any]:
    """The ``[[clients]]`` entry of the test client (all scopes, ``TEST_API_KEY``)."""
    return {
        "id": TEST_CLIENT_ID,
        "scopes": sorted(ALL_SCOPES),
        "key_hashes": [hash_key(TEST_API_KEY)],
        **overrides,
    }


def settings_for(core_url: str, sims: Simulators, **overrides: Any) -> Settings:
    """Settings pointing at a core database and the test simulators."""
    values: dict[str, Any] = {
        "core_database_url": core_url,
        "pricing_url": sims.pricing.url,
        "pricing_token": PRICING_TOKEN,
        "crm_url": sims.crm.url,
        "crm_api_key": CRM_API_KEY,
        "shipping_url": sims.shipping.url,
        "shipping_token": SHIPPING_TOKEN,
        "clients": [client_config()],
        # No declared bolt-ons unless a test declares some (never the checkout's bolt-ons/).
        "bolt_ons_dir": None,
        **overrides,
    }
    return Settings(**values)


@dataclass
class Gateway:
    """A gateway app with its lifespan running and an in-process HTTP client."""

    app: Starlette
    client: httpx.AsyncClient
    settings: Settings
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def backends(self) -> Backends:
        backends: Backends = self.app.state.backends
        return backends

    async def post(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
        """POST a GraphQL request and return the decoded body (any status)."""
        headers = {**self.headers, **kw.pop("headers", {})}
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers, **kw
        )
        return response.json()

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        """Run a query that must succeed without errors; return its data."""
        body = await self.post(query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]


@asynccontextmanager
async def running_gateway(settings: Settings) -> AsyncIterator[Gateway]:
    """Build the app, run its lifespan, and give an in-process client."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://gateway", headers=AUTH_HEADERS
        ) as client:
            yield Gateway(app=app, client=client, settings=settings)


@contextmanager
def served_gateway(settings: Settings) -> Iterator[str]:
    """Build the app and serve it with uvicorn on a loopback port; yield its base URL."""
    with BackgroundServer(create_app(settings)) as server:
        yield server.url


def bare_client(gateway: Gateway, **headers: str) -> httpx.AsyncClient:
    """An in-process client of a running gateway that sends no key unless given one."""
    transport = httpx.ASGITransport(app=gateway.app)
    return httpx.AsyncClient(transport=transport, base_url="http://gateway", headers=headers)


class GatewayFactory:
    """The ``gateway_factory`` fixture: gateways built from settings, stopped when the test ends.

    Example:
        >>> gateway = await gateway_factory(settings_for(core_url, sims, env="production"))
        >>> body = await gateway.post("{ warehouses { code } }")
        >>> url = gateway_factory.served(settings_for(core_url, sims))  # uvicorn, loopback
    """

    def __init__(self, stack: AsyncExitStack) -> None:
        self._stack = stack

    async def __call__(self, settings: Settings) -> Gateway:
        """The app with its lifespan running and an in-process client (``running_gateway``)."""
        return await self._stack.enter_async_context(running_gateway(settings))

    def served(self, settings: Settings) -> str:
        """The app served on a loopback port (``served_gateway``); returns its base URL."""
        return self._stack.enter_context(served_gateway(settings))
