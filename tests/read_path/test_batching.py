"""Every relation level is one backend call: counted by the engine and the simulators."""

from __future__ import annotations

import math
import time

from simulators.runner import Simulators
from tests.support.gateway import Gateway

WIDE_QUERY = """
{ customers(first: 50) { edges { node { accountNumber insights { healthScore }
  orders(first: 5) { edges { node { orderNumber status total shipment { status }
    lines { quantity product { sku price { listPrice marginPct } } } } } } } } } }
"""


async def test_wide_query_makes_one_call_per_level(gateway: Gateway, sims: Simulators) -> None:
    before = gateway.backends.core.statements
    data = await gateway.data(WIDE_QUERY)
    core_statements = gateway.backends.core.statements - before

    customers = [edge["node"] for edge in data["customers"]["edges"]]
    orders = [o["node"] for c in customers for o in c["orders"]["edges"]]
    skus = {line["product"]["sku"] for o in orders for line in o["lines"]}
    non_draft = [o for o in orders if o["status"] != "DRAFT"]
    assert len(customers) == 50 and len(orders) > 50

    # customers, their orders (one windowed query), the orders' lines, the lines' products.
    assert core_statements == 4
    assert sims.pricing.state.count("listPrices") == math.ceil(len(skus) / 100)
    assert sorted(sims.pricing.state.batches("listPrices")[0]) == sorted(skus)
    assert sims.shipping.state.count("listShipments") == math.ceil(len(non_draft) / 50)
    assert all(len(batch) <= 50 for batch in sims.shipping.state.batches("listShipments"))
    # No batch read at the CRM: one call per distinct account, under the concurrency bound.
    assert sims.crm.state.count("getAccountInsights") == len(customers)
    assert sims.crm.state.peak_in_flight <= gateway.settings.crm_concurrency


async def test_repeated_keys_in_one_request_are_fetched_once(
    gateway: Gateway, sims: Simulators
) -> None:
    data = await gateway.data(
        """{ a: customer(accountNumber: "C-000001") { insights { healthScore } }
             b: customer(accountNumber: "C-000001") { insights { healthScore } }
             p: product(sku: "SKU-00001") { price { listPrice } }
             q: product(sku: "SKU-00001") { price { listPrice } } }"""
    )
    assert data["a"] == data["b"]
    assert sims.crm.state.count("getAccountInsights") == 1
    assert sims.pricing.state.count("listPrices") == 1


async def test_independent_backends_are_called_in_parallel(
    gateway: Gateway, sims: Simulators
) -> None:
    # Each bolt-on answers after 0.3 s: in sequence the level would take 0.6 s or more.
    for served in (sims.pricing, sims.crm):
        served.state.latency = 0.3
    started = time.perf_counter()
    await gateway.data(
        """{ customer(accountNumber: "C-000001") { insights { healthScore } }
             product(sku: "SKU-00001") { price { listPrice } } }"""
    )
    elapsed = time.perf_counter() - started
    assert elapsed < 0.55, f"bolt-ons were called in sequence ({elapsed:.2f}s)"
