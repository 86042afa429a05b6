"""Declared bolt-ons joined into the graph: values, batching, arguments, failures, cache,
scopes, cost, metrics and readiness; against their generated simulators over loopback.

The example bolt-ons (``examples/bolt-ons``) cover the shapes a declaration
can take: Forecast batches by an array query parameter (``maxItems`` 50) with
a bearer token and an argument, and calls once per category by a query
parameter; Warranty calls once per SKU by a path parameter (a list-valued
``many`` field) and batches by a POST body array (``maxItems`` 25, declared a
read) with an API key header.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gateway.bolt_ons import load_declarations
from gateway.bolt_ons.adapter import DeclaredAdapter
from gateway.bolt_ons.graph import enum_name
from simulators.declared import expected_result
from simulators.runner import Simulators
from tests.bolt_ons.conftest import Declared, declared_settings, write_examples
from tests.support.core import private_copy
from tests.support.gateway import Gateway, GatewayFactory, client_config

PRODUCTS = """{ products(first: 25) { edges { node { sku category
    forecast(horizonDays: 7) { sku horizonDays expectedUnits expectedRevenue confidence
      generatedAt range { low high } note }
    seasonality { category peakMonth index }
    warrantyPlans { planId sku tier termMonths price availableUntil } } } } }"""

COVERAGE = """query($expired: Boolean) { customers(first: 50) { edges { node { accountNumber
    warrantyCoverage(includeExpired: $expired) { accountNumber tier coveredUnits claimLimit
      expiresAt contact { name email phone } } } } } }"""


def _nodes(data: dict[str, Any], root: str) -> list[dict[str, Any]]:
    return [edge["node"] for edge in data[root]["edges"]]


def _expected_forecast(declared: Declared, sku: str, days: int) -> dict[str, Any]:
    item = expected_result(
        declared.declarations["forecast"], "forecast", sku, {"horizon_days": days}
    )
    return {
        "sku": item["sku"],
        "horizonDays": item["horizon_days"],
        "expectedUnits": str(item["expected_units"]),  # BigInt: a string of digits
        "expectedRevenue": item["expected_revenue"],
        "confidence": enum_name(item["confidence"]),
        "generatedAt": item["generated_at"].replace("Z", "+00:00"),
        "range": {"low": str(item["range"]["low"]), "high": str(item["range"]["high"])},
        "note": item.get("note"),
    }


async def test_declared_fields_join_the_core_exactly(
    declared_gateway: Gateway, declared: Declared
) -> None:
    data = await declared_gateway.data(PRODUCTS)
    products = _nodes(data, "products")
    assert len(products) == 25
    for product in products:
        assert product["forecast"] == _expected_forecast(declared, product["sku"], 7)
        season = expected_result(
            declared.declarations["forecast"], "seasonality", product["category"]
        )
        assert product["seasonality"] == {
            "category": product["category"],
            "peakMonth": season["peak_month"],
            "index": season["index"],
        }
        plans = expected_result(declared.declarations["warranty"], "warrantyPlans", product["sku"])
        assert [p["planId"] for p in product["warrantyPlans"]] == [p["plan_id"] for p in plans]
        assert all(p["sku"] == product["sku"] for p in product["warrantyPlans"])
        assert {p["tier"] for p in product["warrantyPlans"]} <= {"STANDARD", "EXTENDED", "PREMIUM"}
    # Nothing lossy: the simulator's 64-bit integers past 2^53 and its decimal strings arrive
    # exactly as written (the expected values above are the simulator's own JSON).
    units = [int(p["forecast"]["expectedUnits"]) for p in products]
    assert any(u > 2**53 for u in units), units
    assert all(
        Decimal(p["forecast"]["expectedRevenue"]).as_tuple().exponent == -2 for p in products
    )


async def test_each_relation_level_is_one_batch_per_field(
    declared_gateway: Gateway, declared: Declared
) -> None:
    await declared_gateway.data(PRODUCTS)
    forecast, warranty = declared.states["forecast"], declared.states["warranty"]
    # 25 SKUs under maxItems (50): one call with all of them.
    [batch] = forecast.batches("batchGetForecasts")
    assert len(batch) == 25
    # One call per distinct key for the one-key operations, never per row.
    data = await declared_gateway.data("{ products(first: 25) { edges { node { category } } } }")
    categories = {p["category"] for p in _nodes(data, "products")}
    assert forecast.count("getSeasonality") == len(categories) < 25
    assert warranty.count("listWarrantyPlans") == 25


async def test_a_post_batch_is_split_at_max_items_and_chunks_run_together(
    declared_gateway: Gateway, declared: Declared
) -> None:
    declared.states["warranty"].configure(latency=0.2)  # long enough for the chunks to meet
    data = await declared_gateway.data(COVERAGE, {"expired": True})
    customers = _nodes(data, "customers")
    assert len(customers) == 50
    batches = declared.states["warranty"].batches("searchCoverage")
    assert sorted(len(b) for b in batches) == [25, 25]  # maxItems 25
    assert declared.states["warranty"].peak_in_flight == 2  # concurrently
    declaration = declared.declarations["warranty"]
    for customer in customers:
        item = expected_result(
            declaration, "warrantyCoverage", customer["accountNumber"], {"include_expired": True}
        )
        coverage = customer["warrantyCoverage"]
        assert coverage["accountNumber"] == customer["accountNumber"]
        assert coverage["claimLimit"] == item["claim_limit"]
        assert coverage["coveredUnits"] == str(item["covered_units"])
        assert coverage["contact"]["name"] == item["contact"]["name"]


async def test_arguments_reach_the_bolt_on_with_their_defaults(
    declared_gateway: Gateway, declared: Declared
) -> None:
    data = await declared_gateway.data(
        """{ product(sku: "SKU-00003") { plain: forecast { horizonDays expectedUnits }
             week: forecast(horizonDays: 7) { horizonDays expectedUnits } } }"""
    )
    product = data["product"]
    assert product["plain"]["horizonDays"] == 30  # the contract's default
    assert product["week"]["horizonDays"] == 7
    # Two argument values: two batches, each with its own value.
    recent = declared.states["forecast"].recent("batchGetForecasts")
    assert len(recent) == 2
    bad = await declared_gateway.post(
        '{ product(sku: "SKU-00003") { forecast(horizonDays: "x") { sku } } }'
    )
    assert bad["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert declared.states["forecast"].total == 2  # a client's mistake calls nobody


async def test_unknown_keys_are_null_or_empty_without_an_error(
    declared_sims: Declared, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORECAST_TOKEN", "forecast-test-token")
    monkeypatch.setenv("WARRANTY_API_KEY", "warranty-test-key")
    forecast = declared_sims.declarations["forecast"]
    warranty = declared_sims.declarations["warranty"]
    async with DeclaredAdapter(forecast) as adapter:
        known, unknown = await adapter.fetch(forecast.fields[0], ["SKU-1", "SKU-UNKNOWN"], {})
        assert known["sku"] == "SKU-1" and unknown is None
        [missing] = await adapter.fetch(forecast.fields[1], ["__nothing"], {})  # a 404
        assert missing is None
    async with DeclaredAdapter(warranty) as adapter:
        [plans] = await adapter.fetch(warranty.fields[0], ["SKU-UNKNOWN"], {})
        assert plans == []


# --- failures ------------------------------------------------------------------


FAILING = """{ products(first: 3) { edges { node { sku name
    forecast { sku } warrantyPlans { tier } } } } }"""


def _assert_only_forecast_failed(body: dict[str, Any], code: str) -> None:
    products = _nodes(body["data"], "products")
    assert [p["forecast"] for p in products] == [None, None, None]
    assert all(p["name"] and p["warrantyPlans"] for p in products)  # the rest answers
    codes = {(e["extensions"]["code"], e["extensions"].get("service")) for e in body["errors"]}
    assert codes == {(code, "forecast")}, body["errors"]
    assert all(e["path"][-1] == "forecast" for e in body["errors"])


@pytest.mark.parametrize(
    ("knobs", "code"),
    [
        ({"failure_rate": 1.0, "failure_status": 503}, "UPSTREAM_UNAVAILABLE"),
        ({"failure_rate": 1.0, "failure_status": 429}, "UPSTREAM_UNAVAILABLE"),
        ({"hang": True}, "UPSTREAM_TIMEOUT"),
    ],
    ids=["503", "429", "hang"],
)
async def test_a_failing_bolt_on_costs_only_its_field(
    gateway_factory: GatewayFactory,
    sqlite_core: str,
    sims: Simulators,
    declared: Declared,
    monkeypatch: pytest.MonkeyPatch,
    knobs: dict[str, Any],
    code: str,
) -> None:
    monkeypatch.setenv("GATEWAY_BOLT_ON_FORECAST_TIMEOUT", "0.5")
    gateway = await gateway_factory(
        declared_settings(
            sqlite_core, sims, declared, cache_enabled=False, retry_max_retry_after=0.1
        )
    )
    declared.states["forecast"].configure(**knobs)
    _assert_only_forecast_failed(await gateway.post(FAILING), code)


async def test_a_refused_credential_is_upstream_rejected(
    gateway_factory: GatewayFactory,
    sqlite_core: str,
    sims: Simulators,
    declared: Declared,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FORECAST_TOKEN", "not-the-partners-token")
    gateway = await gateway_factory(declared_settings(sqlite_core, sims, declared))
    body = await gateway.post(FAILING)
    _assert_only_forecast_failed(body, "UPSTREAM_REJECTED")
    assert "not-the-partners-token" not in str(body)


async def test_a_bolt_on_that_is_down_costs_only_its_field(
    gateway_factory: GatewayFactory,
    sqlite_core: str,
    sims: Simulators,
    declared: Declared,
    tmp_path: Path,
) -> None:
    urls = {**declared.urls, "forecast": "http://127.0.0.1:9"}  # the discard port: refused
    folder = write_examples(tmp_path / "bolt-ons", urls)
    settings = declared_settings(sqlite_core, sims, declared, bolt_ons_dir=folder)
    gateway = await gateway_factory(settings)
    _assert_only_forecast_failed(await gateway.post(FAILING), "UPSTREAM_UNAVAILABLE")
    ready = await gateway.client.get("/readyz")
    assert ready.status_code == 200  # the core answers: still ready
    backends = ready.json()["backends"]
    assert backends["forecast"]["status"] == "down"
    assert backends["warranty"]["status"] == "up"


# --- cache ---------------------------------------------------------------------


async def test_answers_are_cached_per_arguments_and_credential(
    gateway_factory: GatewayFactory,
    sqlite_core: str,
    sims: Simulators,
    declared: Declared,
    redis_url: str,
    namespace: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shared = {"redis_url": redis_url, "cache_namespace": namespace}
    gateway = await gateway_factory(declared_settings(sqlite_core, sims, declared, **shared))
    query = '{ product(sku: "SKU-00004") { forecast(horizonDays: $d) { expectedUnits } } }'
    week = await gateway.data(query.replace("$d", "7"))
    again = await gateway.data(query.replace("$d", "7"))
    assert week == again
    forecast = declared.states["forecast"]
    assert forecast.count("batchGetForecasts") == 1  # the second from the cache (Redis)
    await gateway.data(query.replace("$d", "14"))
    assert forecast.count("batchGetForecasts") == 2  # other arguments: another entry
    # A POST declared a read is cached too.
    await gateway.data(COVERAGE, {"expired": False})
    await gateway.data(COVERAGE, {"expired": False})
    assert declared.states["warranty"].count("searchCoverage") == 2  # one query: 2 chunks
    # Another credential never reads this credential's entries.
    monkeypatch.setenv("FORECAST_TOKEN", "another-deployments-token")
    other = await gateway_factory(declared_settings(sqlite_core, sims, declared, **shared))
    body = await other.post(query.replace("$d", "7"))
    assert body["data"]["product"]["forecast"] is None
    assert body["errors"][0]["extensions"]["code"] == "UPSTREAM_REJECTED"


async def test_a_committed_change_drops_the_cached_answers_about_it(
    gateway_factory: GatewayFactory,
    sqlite_core: str,
    sims: Simulators,
    declared: Declared,
    tmp_path: Path,
) -> None:
    core = private_copy(sqlite_core, tmp_path)
    gateway = await gateway_factory(declared_settings(core, sims, declared))
    query = """{ customer(accountNumber: "C-000001") { version
        warrantyCoverage { tier } } }"""
    first = await gateway.data(query)
    await gateway.data(query)
    searches = declared.states["warranty"]
    assert searches.count("searchCoverage") == 1
    updated = await gateway.data(
        """mutation($v: Int!) { updateCustomer(input: {accountNumber: "C-000001",
             expectedVersion: $v, name: "Renamed Ltd"}) { userErrors { code } } }""",
        {"v": first["customer"]["version"]},
    )
    assert updated["updateCustomer"]["userErrors"] == []
    await gateway.data(query)
    assert searches.count("searchCoverage") == 2  # the change dropped the entry


# --- scopes, cost, metrics, schema ------------------------------------------------


async def test_a_declared_scope_guards_only_its_fields(
    gateway_factory: GatewayFactory, sqlite_core: str, sims: Simulators, declared: Declared
) -> None:
    client = client_config(scopes=["core:read", "warranty:read"])
    gateway = await gateway_factory(
        declared_settings(sqlite_core, sims, declared, clients=[client])
    )
    body = await gateway.post(FAILING)
    products = _nodes(body["data"], "products")
    assert all(p["forecast"] is None and p["warrantyPlans"] for p in products)
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}
    assert body["errors"][0]["extensions"]["scope"] == "forecast:read"
    assert declared.states["forecast"].total == 0  # refused fields call nobody


async def test_a_scope_nobody_declares_stops_start_up(
    sqlite_core: str, sims: Simulators, declared: Declared
) -> None:
    from gateway.app import create_app

    client = client_config(scopes=["core:read", "forcast:read"])
    with pytest.raises(
        ValueError, match="'forcast:read', which neither the gateway nor a declared"
    ):
        create_app(declared_settings(sqlite_core, sims, declared, clients=[client]))


async def test_declared_costs_count_in_the_query_cost(
    gateway_factory: GatewayFactory, sqlite_core: str, sims: Simulators, declared: Declared
) -> None:
    gateway = await gateway_factory(declared_settings(sqlite_core, sims, declared))
    query = "{ products(first: 20) { edges { node { sku %s } } } }"

    async def cost_of(selection: str) -> int:
        body = {"query": query % selection, "extensions": {"cost": True}}
        response = await gateway.client.post("/graphql", json=body, headers=gateway.headers)
        requested: int = response.json()["extensions"]["cost"]["requested"]
        return requested

    cost = [await cost_of(s) for s in ("", "forecast { sku }", "warrantyPlans { tier }")]
    # forecast declares cost = 5; warrantyPlans the default bolt-on field cost.
    default = gateway.settings.bolt_on_field_cost
    assert cost[1] - cost[0] >= 20 * 5
    assert cost[2] - cost[0] >= 20 * default
    assert cost[1] - cost[0] != cost[2] - cost[0] or default == 5


async def test_metrics_are_labelled_with_the_bolt_ons_name(
    declared_gateway: Gateway, declared: Declared
) -> None:
    await declared_gateway.data(PRODUCTS)
    metrics = (await declared_gateway.client.get("/metrics")).text
    assert (
        'gateway_backend_calls_total{operation="batchGetForecasts",service="forecast"}' in metrics
    )
    assert 'service="warranty"' in metrics
    ready = (await declared_gateway.client.get("/readyz")).json()
    assert ready["backends"]["forecast"]["status"] == "up"
    assert ready["backends"]["warranty"]["circuit"] == "closed"


async def test_the_schema_shows_the_contracts_types(declared_gateway: Gateway) -> None:
    data = await declared_gateway.data(
        """{ forecast: __type(name: "Forecast") { fields { name type { kind name
               ofType { kind name } } } }
             product: __type(name: "Product") { fields { name args { name defaultValue
               type { name } } type { kind name ofType { kind name ofType { name } } } } } }"""
    )
    fields = {f["name"]: f["type"] for f in data["forecast"]["fields"]}
    assert fields["expectedUnits"]["ofType"]["name"] == "BigInt"
    assert fields["expectedRevenue"]["ofType"]["name"] == "Decimal"
    assert fields["generatedAt"]["ofType"]["name"] == "DateTime"
    assert fields["confidence"]["ofType"] == {"kind": "ENUM", "name": "ForecastConfidence"}
    assert fields["range"]["ofType"]["name"] == "UnitRange"
    assert fields["note"] == {"kind": "SCALAR", "name": "String", "ofType": None}  # not required
    product = {f["name"]: f for f in data["product"]["fields"]}
    assert product["forecast"]["type"] == {"kind": "OBJECT", "name": "Forecast", "ofType": None}
    assert product["forecast"]["args"] == [
        {"name": "horizonDays", "defaultValue": "30", "type": {"name": "Int"}}
    ]
    plans = product["warrantyPlans"]["type"]
    assert plans["kind"] == "LIST" and plans["ofType"]["ofType"]["name"] == "WarrantyPlan"


def test_bolt_ons_read_from_the_folder_only(tmp_path: Path) -> None:
    assert load_declarations(tmp_path / "missing") == ()
    assert load_declarations(None) == ()
    (tmp_path / "notes.md").write_text("not a declaration")
    assert load_declarations(tmp_path) == ()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"confidence": "certain"}, "is not one of the contract's values"),
        ({"expected_revenue": 12.5}, "a decimal must be a string"),
        ({"expected_units": None}, "Forecast.expected_units missing"),
        ({"generated_at": "2026-12-01T10:00:00"}, "has no time zone"),
    ],
    ids=["enum", "decimal as a float", "required missing", "naive time"],
)
async def test_an_answer_outside_the_contract_is_the_partners_failure(
    gateway_factory: GatewayFactory,
    sqlite_core: str,
    sims: Simulators,
    declared: Declared,
    tmp_path: Path,
    change: dict[str, Any],
    reason: str,
) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from simulators.runner import BackgroundServer

    forecast = declared.declarations["forecast"]

    async def forecasts(request: Request) -> JSONResponse:
        items = []
        for sku in request.query_params.getlist("sku"):
            item = expected_result(forecast, "forecast", sku)
            items.append({**item, **change})
        return JSONResponse({"forecasts": items})

    app = Starlette(routes=[Route("/v1/forecasts", forecasts)])
    with BackgroundServer(app) as partner:
        folder = write_examples(tmp_path / "bolt-ons", {**declared.urls, "forecast": partner.url})
        settings = declared_settings(sqlite_core, sims, declared, bolt_ons_dir=folder)
        gateway = await gateway_factory(settings)
        body = await gateway.post(
            '{ product(sku: "SKU-00001") { sku forecast { sku confidence expectedRevenue '
            "expectedUnits generatedAt } } }"
        )
    assert body["data"]["product"]["sku"] == "SKU-00001"  # the rest of the query answers
    [error] = body["errors"]
    assert error["extensions"] == {"code": "UPSTREAM_UNAVAILABLE", "service": "forecast"}
    assert "forecast" in error["path"]
    assert reason in error["message"], error


async def test_stale_on_error_serves_the_last_good_answer(
    gateway_factory: GatewayFactory,
    sqlite_core: str,
    sims: Simulators,
    declared: Declared,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # forecast.toml declares stale_on_error = true; its entries are fresh for 0.2 s here.
    monkeypatch.setenv("GATEWAY_BOLT_ON_FORECAST_CACHE_TTL", "0.2")
    gateway = await gateway_factory(declared_settings(sqlite_core, sims, declared))
    query = '{ product(sku: "SKU-00005") { forecast { expectedUnits } } }'
    fresh = await gateway.data(query)
    await asyncio.sleep(0.3)  # expired, still kept as the last good value
    declared.states["forecast"].configure(failure_rate=1.0)
    body = await gateway.post(query)
    assert body["data"] == fresh and "errors" not in body
    [stale] = body["extensions"]["stale"]
    assert stale["service"] == "forecast" and stale["key"] == "SKU-00005"
    assert declared.states["forecast"].count("batchGetForecasts") >= 2  # it did try
