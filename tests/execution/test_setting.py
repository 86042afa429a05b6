"""GATEWAY_COMPILED_EXECUTION: on, known queries run from plans; off, never; the bytes agree."""

from __future__ import annotations

from simulators.runner import Simulators
from tests.support.gateway import GatewayFactory, settings_for

QUERIES = [
    '{ customer(accountNumber: "C-000001") { name segment creditLimit orders(first: 2) {'
    " totalCount edges { node { orderNumber status total lines { quantity product { sku"
    " unitCost price { listPrice marginPct } } } } } } } }",
    "query($n: Int) { products(first: $n) { edges { node { sku available inventory {"
    " warehouse { code } onHand reserved } } } } }",
    '{ order(orderNumber: "SO-000002") { orderNumber shipment { carrier status } } }',
]


async def test_compiled_and_plain_execution_answer_the_same_bytes(
    gateway_factory: GatewayFactory, sqlite_core: str, sims: Simulators
) -> None:
    bodies: dict[bool, list[bytes]] = {}
    for compiled in (True, False):
        gateway = await gateway_factory(
            settings_for(sqlite_core, sims, compiled_execution=compiled, cache_enabled=False)
        )
        answers = []
        for query in QUERIES:
            response = await gateway.client.post(
                "/graphql", json={"query": query, "variables": {"n": 3}}
            )
            assert response.status_code == 200
            assert "errors" not in response.json(), response.text
            answers.append(response.content)
        bodies[compiled] = answers
        plans = gateway.app.state.plans
        if compiled:
            assert plans is not None and plans.stats.compiled == len(QUERIES)
        else:
            assert plans is None
    assert bodies[True] == bodies[False]
