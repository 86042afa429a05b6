"""An Idempotency-Key guards whatever runs, whatever the document's shape.

A document of two operations without ``operationName`` is refused (and
writes nothing); with one it runs the named operation, and the key is
decided on that same operation: five sends, one order. Over loopback HTTP,
against a served gateway, on each backend.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select

from adapters.core.tables import orders
from gateway.app import create_app
from simulators.runner import BackgroundServer, Simulators
from tests.support.gateway import AUTH_HEADERS
from tests.writes.support import mutation_settings, scalar

DOCUMENT = """
mutation M {
  createOrder(input: {accountNumber: "C-000001", lines: [{sku: "SKU-00001", quantity: 1}]}) {
    order { orderNumber } userErrors { code } } }
query Q { __typename }
"""


@pytest.fixture
async def client(core_url: str, sims: Simulators) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(mutation_settings(core_url, sims))
    with BackgroundServer(app) as server:
        async with httpx.AsyncClient(
            base_url=server.url, headers=AUTH_HEADERS, timeout=30
        ) as client:
            yield client


async def _orders(core_url: str) -> int:
    count: int = await scalar(core_url, select(func.count()).select_from(orders))
    return count


async def test_two_operations_and_one_key_write_one_order(
    client: httpx.AsyncClient, core_url: str
) -> None:
    before = await _orders(core_url)
    # Under graphql-response+json a request error answers 400 (application/json: 200).
    headers = {
        "Idempotency-Key": "multi-operation-0001",
        "Accept": "application/graphql-response+json",
    }

    # Without operationName nothing is picked, so nothing runs and the key stays free.
    for _ in range(5):
        refused = await client.post("/graphql", json={"query": DOCUMENT}, headers=headers)
        assert refused.status_code == 400, refused.text
        [error] = refused.json()["errors"]
        assert error["extensions"]["code"] == "OPERATION_RESOLUTION_FAILURE"
    assert await _orders(core_url) == before

    # With operationName M, the key guards M: one order, four replays.
    body = {"query": DOCUMENT, "operationName": "M"}
    answers = [await client.post("/graphql", json=body, headers=headers) for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert len({a.content for a in answers}) == 1
    assert [a.headers.get("idempotent-replayed") for a in answers] == [None] + ["true"] * 4
    order = answers[0].json()["data"]["createOrder"]
    assert order["userErrors"] == [] and order["order"]["orderNumber"]
    assert await _orders(core_url) == before + 1

    # The query of the same document, with the same key, is a different request.
    other = await client.post(
        "/graphql", json={"query": DOCUMENT, "operationName": "Q"}, headers=headers
    )
    assert other.status_code == 200 and other.json()["data"] == {"__typename": "Query"}
    assert await _orders(core_url) == before + 1
