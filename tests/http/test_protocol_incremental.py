"""``@defer`` and ``@stream`` over HTTP (multipart/mixed) and graphql-transport-ws.

The point of deferring is that core data leaves while a slower bolt-on is
still answering; the deferred fields keep every rule of a plain query:
the same scopes, cost, limits, failure semantics and batching (one call per
relation level). A client that does not read multipart gets one result,
the one the document would give without the directives.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.typing import Subprotocol

from simulators.runner import Simulators
from tests.http.incremental import DEFER_SPEC, apply_20220824, stream_parts
from tests.http.support import Serve
from tests.support.core import private_copy
from tests.support.gateway import TEST_API_KEY, client_config

PRODUCT_PRICE = """
  query Price { product(sku: "SKU-00001") { sku name
    ... @defer(label: "price") { price { listPrice marginPct } } } }
"""
PLAIN_PRODUCT_PRICE = (
    'query Price { product(sku: "SKU-00001") { sku name price { listPrice marginPct } } }'
)


@pytest.fixture(scope="module")
def http(serve: Serve) -> Iterator[httpx.Client]:
    # The bolt-on cache off: every deferred bolt-on field is a real call.
    with serve(cache_enabled=False) as client:
        yield client


def test_a_slow_bolt_on_arrives_after_the_core_data(http: httpx.Client, sims: Simulators) -> None:
    sims.pricing.state.latency = 1.5
    response, parts = stream_parts(http, PRODUCT_PRICE)
    assert response.headers["content-type"] == ('multipart/mixed; boundary="-"; deferSpec=20220824')
    assert len(parts) == 2
    first, last = parts
    assert first.payload == {
        "data": {"product": {"sku": "SKU-00001", "name": first.payload["data"]["product"]["name"]}},
        "hasNext": True,
    }
    # The core data did not wait for Pricing.
    assert last.seconds - first.seconds >= 1.0, (first.seconds, last.seconds)
    (entry,) = last.payload["incremental"]
    assert entry["path"] == ["product"]
    assert entry["label"] == "price"
    assert set(entry["data"]["price"]) == {"listPrice", "marginPct"}
    assert last.payload["hasNext"] is False


def test_without_multipart_the_answer_is_the_plain_one(http: httpx.Client) -> None:
    for accept in ("application/json", "application/graphql-response+json", "*/*"):
        deferred = http.post("/graphql", json={"query": PRODUCT_PRICE}, headers={"Accept": accept})
        plain = http.post(
            "/graphql", json={"query": PLAIN_PRODUCT_PRICE}, headers={"Accept": accept}
        )
        assert deferred.status_code == 200
        assert not deferred.headers["content-type"].startswith("multipart")
        assert deferred.json() == plain.json()


def test_a_failing_bolt_on_in_a_deferred_fragment_costs_only_its_fields(
    http: httpx.Client, sims: Simulators, caplog: pytest.LogCaptureFixture
) -> None:
    sims.pricing.state.failure_rate = 1.0
    with caplog.at_level(logging.INFO, logger="gateway.access"):
        _, parts = stream_parts(http, PRODUCT_PRICE)
        lines = _access_lines(caplog)
    data, errors = apply_20220824(parts)
    assert data["product"]["sku"] == "SKU-00001"
    assert data["product"]["price"] is None
    assert [(e["path"], e["extensions"]) for e in errors] == [
        (["product", "price"], {"code": "UPSTREAM_UNAVAILABLE", "service": "pricing"})
    ]
    (entry,) = parts[-1].payload["incremental"]
    assert entry["data"] == {"price": None}
    # The access line counts the deferred error, which came after the first payload.
    (line,) = lines
    assert "errors=UPSTREAM_UNAVAILABLE" in line.getMessage()
    assert line.__dict__["status"] == 200


def _access_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    # The server writes the line once the response is out: the client may be faster.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = [r for r in caplog.records if r.name == "gateway.access"]
        if lines:
            return lines
        time.sleep(0.02)
    return []


def test_stream_delivers_a_list_item_by_item(http: httpx.Client) -> None:
    plain = http.post(
        "/graphql", json={"query": "{ customers(first: 5) { edges { node { accountNumber } } } }"}
    ).json()["data"]
    query = "{ customers(first: 5) { edges @stream(initialCount: 2) { node { accountNumber } } } }"
    _, parts = stream_parts(http, query)
    assert len(parts[0].payload["data"]["customers"]["edges"]) == 2
    entries = [entry for part in parts[1:] for entry in part.payload.get("incremental", [])]
    assert entries[0]["path"] == ["customers", "edges", 2]
    assert all("items" in entry for entry in entries)
    data, errors = apply_20220824(parts)
    assert errors == []
    assert data == plain


def test_a_stream_inside_a_deferred_fragment_counts_from_the_fragments_items(
    http: httpx.Client,
) -> None:
    plain = http.post(
        "/graphql",
        json={"query": '{ product(sku: "SKU-00002") { sku inventory { onHand } } }'},
    ).json()["data"]
    assert len(plain["product"]["inventory"]) > 1
    query = """{ product(sku: "SKU-00002") { sku
        ... @defer { inventory @stream(initialCount: 1) { onHand } } } }"""
    _, parts = stream_parts(http, query)
    streamed = [
        entry for part in parts for entry in part.payload.get("incremental", []) if "items" in entry
    ]
    # The deferred fragment delivered item 0: the stream goes on at index 1.
    assert streamed[0]["path"] == ["product", "inventory", 1]
    data, _ = apply_20220824(parts)
    assert data == plain


def test_forbidden_fields_inside_deferred_fragments_stay_forbidden(serve: Serve) -> None:
    reader = client_config(scopes=["core:read"])
    query = """{ product(sku: "SKU-00001") { sku
        ... @defer { unitCost price { listPrice marginPct } } } }"""
    with serve(clients=[reader], cache_enabled=False) as http:
        _, parts = stream_parts(http, query)
    data, errors = apply_20220824(parts)
    assert data["product"]["unitCost"] is None
    assert data["product"]["price"]["marginPct"] is None
    assert data["product"]["price"]["listPrice"]
    assert sorted((tuple(e["path"]), e["extensions"]["code"]) for e in errors) == [
        (("product", "price", "marginPct"), "FORBIDDEN"),
        (("product", "unitCost"), "FORBIDDEN"),
    ]


def test_deferred_fields_count_in_the_cost_and_the_limits(serve: Serve, http: httpx.Client) -> None:
    deferred = (
        "{ products(first: 20) { edges { node { sku ... @defer { price { listPrice } } } } } }"
    )
    plain = "{ products(first: 20) { edges { node { sku price { listPrice } } } } }"
    costs = [
        http.post("/graphql", json={"query": query, "extensions": {"cost": True}}).json()[
            "extensions"
        ]["cost"]["requested"]
        for query in (deferred, plain)
    ]
    assert costs[0] == costs[1] > 200
    with serve(max_query_cost=costs[0] - 1) as limited:
        refused = limited.post("/graphql", json={"query": deferred}, headers={"Accept": DEFER_SPEC})
        assert refused.status_code == 200  # a request error, answered as application/json
        assert refused.headers["content-type"].startswith("application/json")
        assert refused.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    deep = "{ customers { edges { node { ... @defer { " + "orders { edges { node { customer { " * 3
    deep += "id" + " } } } }" * 3 + " } } } } }"
    too_deep = http.post("/graphql", json={"query": deep}, headers={"Accept": DEFER_SPEC})
    assert too_deep.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"


def test_deferred_bolt_on_calls_still_batch_per_level(http: httpx.Client, sims: Simulators) -> None:
    query = """{ products(first: 10) { edges { node { sku ... @defer { price { listPrice } } } } }
      customers(first: 5) { edges { node { accountNumber ... @defer {
        orders(first: 3) { edges { node { orderNumber shipment { status } } } } } } } } }"""
    _, parts = stream_parts(http, query)
    data, errors = apply_20220824(parts)
    assert errors == []
    skus = [edge["node"]["sku"] for edge in data["products"]["edges"]]
    assert all(edge["node"]["price"]["listPrice"] for edge in data["products"]["edges"])
    # One Pricing call for the ten deferred prices, one Shipping call for every deferred order.
    assert sims.pricing.state.count("listPrices") == 1
    assert sorted(sims.pricing.state.batches("listPrices")[0]) == sorted(skus)
    assert sims.shipping.state.count("listShipments") == 1


def test_the_v0_2_format_on_request(http: httpx.Client) -> None:
    response, parts = stream_parts(
        http, PRODUCT_PRICE, accept="multipart/mixed;incrementalSpec=v0.2, application/json"
    )
    assert "incrementalSpec=v0.2" in response.headers["content-type"]
    first, last = (part.payload for part in parts)
    assert first["pending"] == [{"id": "0", "path": ["product"], "label": "price"}]
    assert last["incremental"][0]["id"] == "0"
    assert "price" in last["incremental"][0]["data"]
    assert last["completed"] == [{"id": "0"}]


def test_a_mutation_with_an_idempotency_key_answers_once_in_one_response(
    serve: Serve, sqlite_core: str, tmp_path: Path
) -> None:
    with serve(core=private_copy(sqlite_core, tmp_path), cache_enabled=False) as http:
        _create_once(http)


def _create_once(http: httpx.Client) -> None:
    mutation = """mutation { createCustomer(input: {name: "Deferred Ltd", email: "d@example.com",
        segment: SMB, creditLimit: "100.00"}) { customer { accountNumber
        ... @defer { name } } } }"""
    headers = {"Accept": DEFER_SPEC, "Idempotency-Key": "defer-once-1"}
    first = http.post("/graphql", json={"query": mutation}, headers=headers)
    again = http.post("/graphql", json={"query": mutation}, headers=headers)
    assert first.headers["content-type"].startswith("application/json")
    customer = first.json()["data"]["createCustomer"]["customer"]
    assert customer["name"] == "Deferred Ltd"
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"


async def test_defer_over_graphql_transport_ws(http: httpx.Client, sims: Simulators) -> None:
    sims.pricing.state.latency = 0.5
    url = str(http.base_url).replace("http://", "ws://").rstrip("/") + "/graphql"
    async with websockets.connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"X-Api-Key": TEST_API_KEY}})
        )
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
        await ws.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": PRODUCT_PRICE}})
        )
        messages = []
        while not messages or messages[-1]["type"] != "complete":
            messages.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
    assert [m["type"] for m in messages] == ["next", "next", "complete"]
    assert messages[0]["payload"]["hasNext"] is True
    assert "price" not in messages[0]["payload"]["data"]["product"]
    assert messages[1]["payload"]["incremental"][0]["path"] == ["product"]
    assert messages[1]["payload"]["hasNext"] is False
