"""Query limits: depth, aliases, tokens, size and cost bombs are refused before they run."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.limits.cost import BOLT_ON_FIELDS, CostModel, operation_cost
from gateway.settings import Settings
from schema import build_schema
from simulators.runner import Simulators
from tests.support.gateway import Gateway

BOMB = """{ customers(first: 100) { edges { node {
  orders(first: 100) { edges { node { lines { product { price { listPrice } } } } } }
} } } }"""


def _codes(body: Any) -> list[str | None]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


async def _refused_before_running(
    gateway: Gateway, sims: Simulators, query: str, fragment: str, code: str, **kw: Any
) -> Any:
    before = gateway.backends.core.statements
    body = await gateway.post(query, **kw)
    assert "data" not in body, body  # a request error: nothing ran, no data entry
    assert fragment in body["errors"][0]["message"], body["errors"][0]
    assert _codes(body) == [code]
    # Nothing ran: no core statement, no bolt-on call.
    assert gateway.backends.core.statements == before
    assert sims.pricing.state.total == sims.crm.state.total == sims.shipping.state.total == 0
    return body


async def test_depth_bomb(gateway: Gateway, sims: Simulators) -> None:
    inner = "orderNumber"
    for _ in range(8):  # 4 levels each: 33 deep
        inner = f"customer {{ orders(first: 1) {{ edges {{ node {{ {inner} }} }} }} }}"
    query = f'{{ order(orderNumber: "SO-000001") {{ {inner} }} }}'
    await _refused_before_running(
        gateway, sims, query, "exceeds maximum operation depth", "QUERY_TOO_DEEP"
    )


async def test_alias_bomb(gateway: Gateway, sims: Simulators) -> None:
    aliases = " ".join(f"a{i}: __typename" for i in range(40))
    await _refused_before_running(
        gateway, sims, "{ " + aliases + " }", "aliases found", "TOO_MANY_ALIASES"
    )


async def test_token_bomb(gateway: Gateway, sims: Simulators) -> None:
    fields = " ".join(["__typename"] * 5000)
    await _refused_before_running(
        gateway, sims, "{ " + fields + " }", "more than 2000 tokens", "QUERY_TOO_LARGE"
    )


async def test_size_bomb_is_413(gateway: Gateway) -> None:
    huge = "{ " + "#" * (gateway.settings.max_body_bytes + 10) + "\n __typename }"
    response = await gateway.client.post("/graphql", json={"query": huge})
    assert response.status_code == 413


async def test_cost_bomb(gateway: Gateway, sims: Simulators) -> None:
    body = await _refused_before_running(
        gateway, sims, BOMB, "exceeds the limit", "QUERY_TOO_COSTLY"
    )
    extensions = body["errors"][0]["extensions"]
    assert extensions["code"] == "QUERY_TOO_COSTLY"
    # 100 customers x 100 orders x 10 lines (estimate) x (line, product, price(10), listPrice)
    assert extensions["cost"] >= 100 * 100 * 10 * 12
    assert extensions["maxCost"] == gateway.settings.max_query_cost


async def test_cost_follows_variables(gateway: Gateway, sims: Simulators) -> None:
    query = (
        "query($n: Int) { customers(first: $n) { edges { node { orders(first: $n) {"
        " edges { node { lines { product { price { listPrice } } } } } } } } } }"
    )
    await _refused_before_running(
        gateway, sims, query, "exceeds the limit", "QUERY_TOO_COSTLY", variables={"n": 100}
    )
    small = await gateway.data(query, {"n": 2})
    assert len(small["customers"]["edges"]) == 2


async def test_cost_is_reported_when_asked(gateway: Gateway) -> None:
    query = "{ customers(first: 3) { edges { node { name insights { healthScore } } } } }"
    response = await gateway.client.post(
        "/graphql", json={"query": query, "extensions": {"cost": True}}
    )
    body = response.json()
    # customers 1 + 3 x (edges 1 + node 1 + name 1 + insights 10 + healthScore 1)
    assert body["extensions"]["cost"] == {"requested": 1 + 3 * 14, "maximum": 50_000}
    plain = await gateway.post(query)
    assert "cost" not in plain.get("extensions", {})


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("{ warehouses { code } }", 1 + 10 * 1),
        ('{ product(sku: "x") { sku price { listPrice } } }', 1 + 1 + 10 + 1),
        ('{ customer(accountNumber: "x") { activities { summary } } }', 1 + 10 + 20 * 1),
        ('{ customer(accountNumber: "x") { activities(limit: 3) { summary } } }', 1 + 10 + 3),
        ("{ customers { totalCount } }", 1 + 20 * 1),
        ('{ node(id: "x") { ... on Customer { name insights { healthScore } } } }', 1 + 1 + 11),
        (
            "query { products(first: 5) { edges { node { ...P } } } }"
            " fragment P on Product { sku price { listPrice } }",
            1 + 5 * (1 + 1 + 1 + 10 + 1),
        ),
    ],
)
def test_cost_model(query: str, expected: int) -> None:
    from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

    document = parse(query)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    model = CostModel.from_settings(Settings())
    cost = operation_cost(build_schema()._schema, operation, fragments, {}, model)
    assert cost == expected
    assert ("Product", "price") in BOLT_ON_FIELDS


def test_each_document_is_validated_once() -> None:
    from gateway.execution.documents import Documents

    documents = Documents(build_schema()._schema, max_tokens=1000)
    text = "{ warehouses { code } }"
    first = documents.validate(text, documents.parse(text))
    again = documents.validate(text, documents.parse(text))
    assert first == [] and again is first  # the cached verdict, not a second validation
    assert documents.parse(text) is documents.parse(text)
