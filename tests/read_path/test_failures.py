"""A bolt-on that fails costs only its own fields; unexpected errors are masked."""

from __future__ import annotations

import logging
import socket
from typing import Any

import pytest
import strawberry

from simulators.runner import Simulators
from tests.support.gateway import Gateway, running_gateway, settings_for
from tests.support.operations import run_operation

JOINED = """
{ customer(accountNumber: "C-000001") { name insights { healthScore }
    orders(first: 3) { edges { node { orderNumber shipment { status }
      lines { product { sku name price { listPrice } } } } } } } }
"""


def _errors_by_service(body: dict[str, Any]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for error in body.get("errors", []):
        extensions = error.get("extensions", {})
        found.setdefault(extensions.get("service", "?"), set()).add(extensions.get("code"))
    return found


async def test_pricing_down_costs_only_prices(gateway: Gateway, sims: Simulators) -> None:
    sims.pricing.state.failure_rate = 1.0
    body = await gateway.post(JOINED)
    customer = body["data"]["customer"]
    assert customer["name"] and customer["insights"]["healthScore"] >= 0
    lines = [line for o in customer["orders"]["edges"] for line in o["node"]["lines"]]
    assert lines and all(line["product"]["price"] is None for line in lines)
    assert all(line["product"]["name"] for line in lines)
    assert _errors_by_service(body) == {"pricing": {"UPSTREAM_UNAVAILABLE"}}
    assert all(e["path"][-1] == "price" for e in body["errors"])


async def test_rate_limited_crm_is_unavailable_not_a_crash(
    gateway: Gateway, sims: Simulators
) -> None:
    sims.crm.state.configure(failure_rate=1.0, failure_status=429)
    body = await gateway.post(JOINED)
    assert body["data"]["customer"]["insights"] is None
    assert body["data"]["customer"]["orders"]["edges"]
    assert _errors_by_service(body) == {"crm": {"UPSTREAM_UNAVAILABLE"}}


async def test_slow_shipping_times_out_alone(core_url: str, sims: Simulators) -> None:
    sims.shipping.state.hang = True
    settings = settings_for(core_url, sims, shipping_timeout=0.3)
    async with running_gateway(settings) as gateway:
        body = await gateway.post(JOINED)
    customer = body["data"]["customer"]
    assert customer["insights"] is not None
    shipped = [o["node"] for o in customer["orders"]["edges"] if o["node"]["shipment"] is None]
    assert shipped, "orders are still returned"
    assert _errors_by_service(body) == {"shipping": {"UPSTREAM_TIMEOUT"}}


def _closed_port_url() -> str:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now: connections are refused
    return f"http://127.0.0.1:{port}"


async def test_every_bolt_on_down_still_serves_the_core(core_url: str, sims: Simulators) -> None:
    settings = settings_for(
        core_url,
        sims,
        pricing_url=_closed_port_url(),
        crm_url=_closed_port_url(),
        shipping_url=_closed_port_url(),
    )
    async with running_gateway(settings) as gateway:
        body = await gateway.post(JOINED)
    assert body["data"]["customer"]["name"]
    assert set(_errors_by_service(body)) == {"pricing", "crm", "shipping"}
    for error in body["errors"]:
        assert error["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
        assert "127.0.0.1" not in error["message"], "no upstream address leaks"


async def test_wrong_credentials_do_not_leak(core_url: str, sims: Simulators) -> None:
    settings = settings_for(core_url, sims, pricing_token="wrong-secret-token")
    async with running_gateway(settings) as gateway:
        response = await gateway.client.post(
            "/graphql", json={"query": '{ product(sku: "SKU-00001") { price { listPrice } } }'}
        )
    assert "wrong-secret-token" not in response.text
    body = response.json()
    assert body["data"]["product"]["price"] is None
    assert body["errors"][0]["extensions"] == {"code": "UPSTREAM_REJECTED", "service": "pricing"}


async def test_core_down_is_an_upstream_error_not_a_500(sims: Simulators) -> None:
    settings = settings_for("postgresql+asyncpg://nobody:hunter2@127.0.0.1:1/none", sims)
    async with running_gateway(settings) as gateway:
        response = await gateway.client.post(
            "/graphql", json={"query": '{ customer(accountNumber: "C-000001") { name } }'}
        )
    assert response.status_code == 200
    assert "hunter2" not in response.text
    body = response.json()
    assert body["data"]["customer"] is None
    assert body["errors"][0]["extensions"] == {"code": "UPSTREAM_UNAVAILABLE", "service": "core"}


async def test_unexpected_errors_are_masked_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @strawberry.type
    class Query:
        @strawberry.field
        def broken(self) -> str | None:
            raise RuntimeError("secret internals: password=hunter2")

        @strawberry.field
        def fine(self) -> str:
            return "ok"

    schema = strawberry.Schema(query=Query)
    context = type("Ctx", (), {"request_id": "req-123", "extensions": {}})()
    with caplog.at_level(logging.ERROR, logger="gateway.errors"):
        reply = await run_operation(schema, "{ broken fine }", context=context)
    result = reply.result
    assert result is not None
    assert result.data == {"broken": None, "fine": "ok"}
    assert result.errors is not None
    error = result.errors[0].formatted
    assert error["message"] == "Internal server error"
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-123"}
    assert "hunter2" not in str(error)
    assert "secret internals" in caplog.text and "req-123" in caplog.text


async def test_idempotency_store_down_is_a_clear_503(sims: Simulators) -> None:
    # The Idempotency-Key table lives on the core: with the core down the request
    # cannot be guarded, so it is refused before anything runs, naming the backend.
    settings = settings_for("postgresql+asyncpg://nobody:hunter2@127.0.0.1:1/none", sims)
    async with running_gateway(settings) as gateway:
        response = await gateway.client.post(
            "/graphql",
            json={
                "query": 'mutation { cancelOrder(input: {orderNumber: "SO-000001"}) '
                "{ userErrors { code } } }"
            },
            headers={**gateway.headers, "Idempotency-Key": "key-0001-core-down"},
        )
    assert response.status_code == 503
    assert "hunter2" not in response.text
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "UPSTREAM_UNAVAILABLE", "service": "core"}
    assert error["message"].startswith("cannot check the Idempotency-Key: core")


async def test_a_bug_outside_execution_is_masked_too(caplog: pytest.LogCaptureFixture) -> None:
    """The endpoint's last line of defence: no traceback or detail reaches the client."""
    import httpx
    from starlette.applications import Starlette
    from starlette.routing import Route

    from gateway.http.endpoint import GraphQLEndpoint
    from gateway.observability.request_id import RequestIdMiddleware

    async def broken_step(exchange: object) -> Any:
        raise RuntimeError("secret internals: password=hunter2")

    async def no_websockets(scope: object, receive: object, send: object) -> None:
        raise AssertionError("not used")

    endpoint = GraphQLEndpoint(broken_step, ide=None, websocket_app=no_websockets)
    app = RequestIdMiddleware(Starlette(routes=[Route("/graphql", endpoint, methods=["POST"])]))
    transport = httpx.ASGITransport(app=app)
    with caplog.at_level(logging.ERROR, logger="gateway.http"):
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.post(
                "/graphql", json={"query": "{ ok }"}, headers={"X-Request-ID": "req-bug-1"}
            )
    assert response.status_code == 500
    assert response.json() == {
        "errors": [
            {
                "message": "Internal server error",
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-bug-1"},
            }
        ]
    }
    assert "hunter2" not in response.text
    assert response.headers["x-request-id"] == "req-bug-1"
    assert "secret internals" in caplog.text
    assert "req-bug-1" in caplog.text
