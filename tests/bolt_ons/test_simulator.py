"""The simulator generated from a declared bolt-on's contract, over real loopback HTTP.

Both example bolt-ons (``examples/bolt-ons``): Forecast (bearer token, a
repeated query parameter batch and one call per category) and Warranty (an
API key header, a path parameter per SKU answering a list, a POST body
batch). Answers fit the contract, are derived from the keys and arguments,
and the knobs, counters and admin endpoints are the other simulators'.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.bolt_ons.contract import load_contract
from gateway.bolt_ons.declaration import Declaration
from simulators.common import SimulatorState
from simulators.declared import (
    create_declared_app,
    expected_result,
    known_key,
    sample,
    served_operations,
)
from simulators.runner import BackgroundServer, Simulators, bind_socket, declared_port
from tests.bolt_ons.support import (
    FORECAST_TOKEN,
    WARRANTY_KEY,
    assert_fits,
    copy_examples,
    example_declarations,
    response_errors,
)
from tests.cli.support import ROOT, clean_environment, gateway
from tests.simulators.support import assert_problem

SKUS = ["SKU-00001", "SKU-00002", "SKU-00042", "SKU-12345", "SKU-99999"]
ACCOUNTS = ["C-000001", "C-000002", "C-000077", "C-001000"]
CATEGORIES = ["hardware", "software", "services", "accessories"]
BEYOND_SAFE = 2**53


@pytest.fixture(scope="module")
def declarations() -> dict[str, Declaration]:
    return example_declarations()


class Served:
    """One declared simulator served in a thread, and a client with its credential."""

    def __init__(self, declaration: Declaration, secret: str, headers: dict[str, str]) -> None:
        self.declaration = declaration
        self.state = SimulatorState(declaration.name)
        self.server = BackgroundServer(
            create_declared_app(declaration, secret=secret, state=self.state)
        )
        self.url = self.server.url
        self.client = httpx.Client(base_url=self.url, headers=headers, timeout=10)
        self.contract = declaration.contract


@pytest.fixture(scope="module")
def forecast(declarations: dict[str, Declaration]) -> Iterator[Served]:
    served = Served(
        declarations["forecast"], FORECAST_TOKEN, {"Authorization": f"Bearer {FORECAST_TOKEN}"}
    )
    with served.server, served.client:
        yield served


@pytest.fixture(scope="module")
def warranty(declarations: dict[str, Declaration]) -> Iterator[Served]:
    served = Served(declarations["warranty"], WARRANTY_KEY, {"X-Partner-Key": WARRANTY_KEY})
    with served.server, served.client:
        yield served


@pytest.fixture(autouse=True)
def _fresh_states(request: pytest.FixtureRequest) -> Iterator[None]:
    # Counters and knobs back to the start around each test, like the shared simulators'.
    states = [
        request.getfixturevalue(name).state
        for name in ("forecast", "warranty")
        if name in request.fixturenames
    ]
    for state in states:
        state.reset()
    yield
    for state in states:
        state.reset()


def _forecasts(served: Served, skus: list[str], **params: Any) -> httpx.Response:
    return served.client.get(
        "/v1/forecasts", params=[("sku", s) for s in skus] + list(params.items())
    )


def _coverage(served: Served, accounts: list[str], **extra: Any) -> httpx.Response:
    return served.client.post("/v2/coverage/search", json={"account_numbers": accounts, **extra})


# --- the rules ---------------------------------------------------------------


def test_known_keys_follow_one_documented_rule() -> None:
    assert known_key("SKU-00001")
    assert known_key("C-000001")
    assert known_key("hardware")
    assert not known_key("")
    assert not known_key("__probe")
    assert not known_key("SKU-UNKNOWN-1")
    assert not known_key("unknown")


def test_every_read_operation_is_served(declarations: dict[str, Declaration]) -> None:
    assert served_operations(declarations["forecast"]) == ("batchGetForecasts", "getSeasonality")
    assert served_operations(declarations["warranty"]) == ("listWarrantyPlans", "searchCoverage")


# --- answers fit the contract ------------------------------------------------


@pytest.mark.parametrize("horizon", [None, 1, 30, 365])
def test_forecasts_fit_the_contract(forecast: Served, horizon: int | None) -> None:
    params = {} if horizon is None else {"horizon_days": horizon}
    response = _forecasts(forecast, SKUS, **params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert_fits(forecast.contract, "batchGetForecasts", body)
    assert [f["sku"] for f in body["forecasts"]] == SKUS
    assert {f["horizon_days"] for f in body["forecasts"]} == {horizon or 30}


@pytest.mark.parametrize("category", CATEGORIES)
def test_seasonality_fits_the_contract(forecast: Served, category: str) -> None:
    response = forecast.client.get("/v1/seasonality", params={"category": category})
    assert response.status_code == 200, response.text
    body = response.json()
    assert_fits(forecast.contract, "getSeasonality", body)
    assert body["category"] == category
    assert 1 <= body["peak_month"] <= 12


@pytest.mark.parametrize("sku", SKUS)
def test_warranty_plans_fit_the_contract(warranty: Served, sku: str) -> None:
    response = warranty.client.get(f"/v2/products/{sku}/plans")
    assert response.status_code == 200, response.text
    plans = response.json()
    assert_fits(warranty.contract, "listWarrantyPlans", plans)
    assert 1 <= len(plans) <= 3
    assert {plan["sku"] for plan in plans} == {sku}
    assert len({plan["plan_id"] for plan in plans}) == len(plans)


@pytest.mark.parametrize("include_expired", [None, False, True])
def test_coverage_fits_the_contract(warranty: Served, include_expired: bool | None) -> None:
    extra = {} if include_expired is None else {"include_expired": include_expired}
    response = _coverage(warranty, ACCOUNTS, **extra)
    assert response.status_code == 200, response.text
    body = response.json()
    assert_fits(warranty.contract, "searchCoverage", body)
    assert [c["account_number"] for c in body["coverage"]] == ACCOUNTS


def test_the_validation_helper_catches_a_broken_answer(forecast: Served) -> None:
    """The helper itself: a wrong type, a float for a decimal, an invented property."""
    good = _forecasts(forecast, SKUS[:1]).json()
    schema = forecast.contract.operations["batchGetForecasts"].response
    assert response_errors(forecast.contract, schema, good) == []
    broken = json.loads(json.dumps(good))
    broken["forecasts"][0]["expected_revenue"] = 12.5
    broken["forecasts"][0]["confidence"] = "certain"
    broken["forecasts"][0]["invented"] = 1
    broken["forecasts"][0]["generated_at"] = "2026-01-01T00:00:00+02:00"
    errors = response_errors(forecast.contract, schema, broken)
    assert len(errors) == 4, errors


def test_optional_properties_are_sometimes_left_out(forecast: Served, warranty: Served) -> None:
    skus = [f"SKU-{i:05d}" for i in range(1, 31)]
    forecasts = _forecasts(forecast, skus).json()["forecasts"]
    notes = ["note" in f for f in forecasts]
    assert any(notes)
    assert not all(notes)
    contacts = [c["contact"] for c in _coverage(warranty, skus[:25]).json()["coverage"]]
    assert any("email" in c for c in contacts)
    assert not all("email" in c for c in contacts)


def test_generated_values_use_the_whole_schema(forecast: Served, warranty: Served) -> None:
    skus = [f"SKU-{i:05d}" for i in range(1, 51)]
    forecasts = _forecasts(forecast, skus).json()["forecasts"]
    assert {f["confidence"] for f in forecasts} == {"low", "medium", "high"}
    revenues = [Decimal(f["expected_revenue"]) for f in forecasts]
    assert all(Decimal("1.00") <= r <= Decimal("1000.00") for r in revenues)
    assert all(f["expected_revenue"].count(".") == 1 for f in forecasts)
    assert all(len(f["expected_revenue"].split(".")[1]) == 2 for f in forecasts)
    assert all(f["generated_at"].startswith("2026-") for f in forecasts)
    assert len({f["generated_at"] for f in forecasts}) > 40


# --- keys --------------------------------------------------------------------


def test_the_same_request_gets_the_same_answer(forecast: Served, warranty: Served) -> None:
    assert _forecasts(forecast, SKUS).content == _forecasts(forecast, SKUS).content
    assert _coverage(warranty, ACCOUNTS).content == _coverage(warranty, ACCOUNTS).content
    first = warranty.client.get("/v2/products/SKU-00001/plans").content
    assert warranty.client.get("/v2/products/SKU-00001/plans").content == first


def test_answers_differ_between_keys(forecast: Served) -> None:
    forecasts = _forecasts(forecast, SKUS).json()["forecasts"]
    rest = [{k: v for k, v in f.items() if k != "sku"} for f in forecasts]
    assert len({json.dumps(r, sort_keys=True) for r in rest}) == len(SKUS)


def test_an_answer_does_not_depend_on_the_batch_it_came_in(forecast: Served) -> None:
    alone = _forecasts(forecast, ["SKU-00042"]).json()["forecasts"]
    together = _forecasts(forecast, SKUS).json()["forecasts"]
    assert alone == [f for f in together if f["sku"] == "SKU-00042"]


def test_keys_repeat_and_comma_separate(forecast: Served) -> None:
    repeated = _forecasts(forecast, ["SKU-00001", "SKU-00002", "SKU-00001"]).json()
    commas = forecast.client.get("/v1/forecasts", params={"sku": "SKU-00001,SKU-00002"}).json()
    assert repeated == commas
    assert [f["sku"] for f in commas["forecasts"]] == ["SKU-00001", "SKU-00002"]
    assert forecast.state.batches("batchGetForecasts")[-1] == ["SKU-00001", "SKU-00002"]


def test_unknown_keys_are_omitted_from_batches(forecast: Served, warranty: Served) -> None:
    body = _forecasts(forecast, ["SKU-00001", "__probe", "SKU-UNKNOWN-7", "SKU-00002"]).json()
    assert [f["sku"] for f in body["forecasts"]] == ["SKU-00001", "SKU-00002"]
    only_unknown = _forecasts(forecast, ["__probe"]).json()
    assert only_unknown == {"forecasts": []}
    coverage = _coverage(warranty, ["C-000001", "C-UNKNOWN"]).json()["coverage"]
    assert [c["account_number"] for c in coverage] == ["C-000001"]


def test_unknown_keys_are_404_one_call_per_key(forecast: Served, warranty: Served) -> None:
    detail = assert_problem(forecast.client.get("/v1/seasonality?category=__probe"), 404)
    assert "__probe" in str(detail["detail"])
    assert_problem(warranty.client.get("/v2/products/SKU-UNKNOWN/plans"), 404)


# --- batch limits and strict requests ---------------------------------------


def test_more_keys_than_max_items_is_a_400(forecast: Served, warranty: Served) -> None:
    skus = [f"SKU-{i:05d}" for i in range(1, 52)]
    assert _forecasts(forecast, skus[:50]).status_code == 200
    detail = assert_problem(_forecasts(forecast, skus), 400)["detail"]
    assert "50" in str(detail)
    assert "51" in str(detail)
    commas = forecast.client.get("/v1/forecasts", params={"sku": ",".join(skus)})
    assert_problem(commas, 400)
    accounts = [f"C-{i:06d}" for i in range(1, 27)]
    assert _coverage(warranty, accounts[:25]).status_code == 200
    detail = assert_problem(_coverage(warranty, accounts), 400)["detail"]
    assert "account_numbers" in str(detail)
    assert "25" in str(detail)


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({}, "sku"),
        ({"sku": "SKU-00001", "horizon_days": "soon"}, "horizon_days"),
        ({"sku": "SKU-00001", "horizon_days": "0"}, "horizon_days"),
        ({"sku": "SKU-00001", "horizon_days": "366"}, "horizon_days"),
    ],
)
def test_bad_query_parameters_are_a_400_naming_them(
    forecast: Served, params: dict[str, str], named: str
) -> None:
    detail = assert_problem(forecast.client.get("/v1/forecasts", params=params), 400)["detail"]
    assert named in str(detail)
    seasonality = forecast.client.get("/v1/seasonality")
    assert "category" in str(assert_problem(seasonality, 400)["detail"])


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({}, "account_numbers"),
        ({"account_numbers": []}, "account_numbers"),
        ({"account_numbers": "C-000001"}, "account_numbers"),
        ({"account_numbers": ["C-000001", 7]}, "account_numbers[1]"),
        ({"account_numbers": ["C-000001"], "include_expired": "yes"}, "include_expired"),
    ],
)
def test_bad_bodies_are_a_400_naming_the_field(
    warranty: Served, body: dict[str, Any], named: str
) -> None:
    response = warranty.client.post("/v2/coverage/search", json=body)
    assert named in str(assert_problem(response, 400)["detail"])


def test_a_body_that_is_not_json_is_a_400(warranty: Served) -> None:
    response = warranty.client.post(
        "/v2/coverage/search", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400)


# --- exactness and arguments -------------------------------------------------


def test_int64_values_past_2_53_arrive_exactly(
    forecast: Served, declarations: dict[str, Declaration]
) -> None:
    candidates = [f"SKU-{i:05d}" for i in range(1, 40)]
    expected = {
        sku: expected_result(declarations["forecast"], "forecast", sku)["expected_units"]
        for sku in candidates
    }
    big = [sku for sku, units in expected.items() if units > BEYOND_SAFE]
    small = [sku for sku, units in expected.items() if units < 2**31]
    middle = [sku for sku, units in expected.items() if 2**31 <= units <= BEYOND_SAFE]
    assert big, "some int64 values must exceed 2^53"
    assert small, "and some must be small"
    assert middle, "and some past 2^31"
    text = _forecasts(forecast, big).text
    for sku in big:
        # The digits themselves, as sent: no float anywhere could have produced them.
        assert str(expected[sku]) in text
        assert float(expected[sku]) != expected[sku]
    parsed = json.loads(text)["forecasts"]
    assert [f["expected_units"] for f in parsed] == [expected[sku] for sku in big]


def test_arguments_reach_the_answer(forecast: Served, warranty: Served) -> None:
    week = _forecasts(forecast, SKUS, horizon_days=7).json()["forecasts"]
    month = _forecasts(forecast, SKUS, horizon_days=30).json()["forecasts"]
    default = _forecasts(forecast, SKUS).json()["forecasts"]
    assert {f["horizon_days"] for f in week} == {7}
    assert month == default, "a missing argument is the contract's default"
    assert [f["expected_revenue"] for f in week] != [f["expected_revenue"] for f in month]
    current = _coverage(warranty, ACCOUNTS).json()
    expired = _coverage(warranty, ACCOUNTS, include_expired=True).json()
    assert current == _coverage(warranty, ACCOUNTS, include_expired=False).json()
    assert current != expired


def test_expected_result_is_what_the_server_answers(
    forecast: Served, warranty: Served, declarations: dict[str, Declaration]
) -> None:
    declared_forecast, declared_warranty = declarations["forecast"], declarations["warranty"]
    for horizon in (None, 7, 365):
        params = {} if horizon is None else {"horizon_days": horizon}
        answered = _forecasts(forecast, [*SKUS, "__probe"], **params).json()["forecasts"]
        assert answered == [
            expected_result(declared_forecast, "forecast", sku, params) for sku in SKUS
        ]
    assert expected_result(declared_forecast, "forecast", "__probe") is None
    for category in CATEGORIES:
        answered = forecast.client.get("/v1/seasonality", params={"category": category}).json()
        assert answered == expected_result(declared_forecast, "seasonality", category)
    for sku in SKUS:
        plans = warranty.client.get(f"/v2/products/{sku}/plans").json()
        assert plans == expected_result(declared_warranty, "warrantyPlans", sku)
    assert expected_result(declared_warranty, "warrantyPlans", "__probe") == []
    for include in (None, True):
        extra = {} if include is None else {"include_expired": include}
        coverage = _coverage(warranty, ACCOUNTS, **extra).json()["coverage"]
        by_field = declared_warranty.fields[1]  # warrantyCoverage, as a FieldDeclaration
        assert coverage == [
            expected_result(declared_warranty, by_field, account, extra) for account in ACCOUNTS
        ]


def test_sample_is_pure_and_fits_every_format(tmp_path: Path) -> None:
    contract_file = tmp_path / "formats.openapi.yaml"
    contract_file.write_text(FORMATS_CONTRACT)
    contract = load_contract(contract_file)
    schema = contract.operations["getThing"].response
    assert schema is not None
    seen_ids: set[str] = set()
    for index in range(60):
        value = sample(contract, schema, f"seed-{index}")
        assert value == sample(contract, schema, f"seed-{index}")
        assert response_errors(contract, schema, value) == [], value
        seen_ids.add(value["id"])
        assert Decimal("10.00") <= Decimal(value["price"]) <= Decimal("20.00")
        assert Decimal(value["fee"]) > Decimal("0.00")
    assert len(seen_ids) == 60
    echoed = sample(contract, schema, "seed-0", echo={"code": "ABC"})
    assert echoed["code"] == "ABC"


FORMATS_CONTRACT = """
openapi: 3.0.3
info: {title: Formats, version: "1"}
paths:
  /things/{id}:
    get:
      operationId: getThing
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Thing"}
components:
  schemas:
    Thing:
      type: object
      required: [id, code, price, fee, count, big, capped, when, day, mail, ratio, flags, kind]
      properties:
        id: {type: string, format: uuid}
        code: {type: string, minLength: 3, maxLength: 5}
        price: {type: string, format: decimal, minimum: 10, maximum: 20}
        fee: {type: string, format: decimal, minimum: 0, exclusiveMinimum: true}
        count: {type: integer, format: int32, minimum: 5, maximum: 9}
        big: {type: integer, format: int64}
        capped: {type: integer, format: int64, maximum: 100}
        when: {type: string, format: date-time}
        day: {type: string, format: date}
        mail: {type: string, format: email}
        ratio: {type: number, minimum: 0, maximum: 1}
        flags: {type: array, minItems: 2, maxItems: 4, items: {type: boolean}}
        kind: {type: string, enum: [a, b, c]}
        maybe: {type: string, nullable: true}
        parent: {$ref: "#/components/schemas/Parent"}
        mixed:
          allOf:
            - {$ref: "#/components/schemas/Parent"}
            - {type: object, required: [extra], properties: {extra: {type: boolean}}}
    Parent:
      type: object
      required: [name]
      properties:
        name: {type: string}
"""


# --- authentication ----------------------------------------------------------


def test_bearer_auth_is_the_contracts(forecast: Served) -> None:
    url = f"{forecast.url}/v1/forecasts?sku=SKU-00001"
    missing = httpx.get(url)
    assert_problem(missing, 401)
    assert missing.headers["www-authenticate"] == "Bearer"
    assert_problem(httpx.get(url, headers={"Authorization": "Bearer wrong"}), 401)
    assert_problem(httpx.get(url, headers={"Authorization": f"Basic {FORECAST_TOKEN}"}), 401)
    assert_problem(httpx.get(url, headers={"X-Partner-Key": FORECAST_TOKEN}), 401)
    assert httpx.get(url, headers={"Authorization": f"bearer {FORECAST_TOKEN}"}).status_code == 200


def test_api_key_auth_is_the_contracts(warranty: Served) -> None:
    url = f"{warranty.url}/v2/products/SKU-00001/plans"
    assert_problem(httpx.get(url), 401)
    assert_problem(httpx.get(url, headers={"X-Partner-Key": "wrong"}), 401)
    assert_problem(httpx.get(url, headers={"Authorization": f"Bearer {WARRANTY_KEY}"}), 401)
    assert httpx.get(url, headers={"x-partner-key": WARRANTY_KEY}).status_code == 200
    body = {"account_numbers": ["C-000001"]}
    assert_problem(httpx.post(f"{warranty.url}/v2/coverage/search", json=body), 401)


def test_without_a_secret_any_call_is_accepted(declarations: dict[str, Declaration]) -> None:
    with BackgroundServer(create_declared_app(declarations["forecast"], secret=None)) as server:
        response = httpx.get(f"{server.url}/v1/forecasts?sku=SKU-00001")
    assert response.status_code == 200


# --- knobs, counters, admin endpoints ---------------------------------------


def test_failure_rate_one_answers_503_and_calls_are_counted(
    forecast: Served, warranty: Served
) -> None:
    forecast.state.configure(failure_rate=1.0)
    failed = _forecasts(forecast, SKUS[:2])
    assert "batchGetForecasts" in str(assert_problem(failed, 503)["detail"])
    forecast.client.get("/v1/seasonality", params={"category": "hardware"})
    assert forecast.state.count("batchGetForecasts") == 1
    assert forecast.state.count("getSeasonality") == 1
    assert forecast.state.total == 2
    assert forecast.state.batches("batchGetForecasts") == [SKUS[:2]]
    forecast.state.configure(failure_rate=0.0, failure_status=429)
    assert _forecasts(forecast, SKUS[:1]).status_code == 200
    assert forecast.state.total == 3
    _coverage(warranty, ACCOUNTS[:2])
    _coverage(warranty, [f"C-{i:06d}" for i in range(30)])  # refused, still counted
    assert warranty.state.count("searchCoverage") == 2
    assert warranty.state.batches("searchCoverage")[0] == ACCOUNTS[:2]


def test_the_admin_endpoints_drive_the_knobs(warranty: Served) -> None:
    config = httpx.post(
        f"{warranty.url}/_sim/config",
        json={"failure_rate": 1, "failure_status": 502, "operations": ["listWarrantyPlans"]},
    )
    assert config.status_code == 200, config.text
    assert_problem(warranty.client.get("/v2/products/SKU-00001/plans"), 502)
    assert _coverage(warranty, ACCOUNTS[:1]).status_code == 200, "other operations unaffected"
    stats = httpx.get(f"{warranty.url}/_sim/stats").json()
    assert stats["service"] == "warranty"
    assert stats["counts"] == {"listWarrantyPlans": 1, "searchCoverage": 1}
    assert stats["batches"]["searchCoverage"] == [ACCOUNTS[:1]]
    assert stats["batches"]["listWarrantyPlans"] == [["SKU-00001"]]
    assert httpx.post(f"{warranty.url}/_sim/config", json={"failure_rate": 2}).status_code == 400
    httpx.post(f"{warranty.url}/_sim/reset")
    assert warranty.state.total == 0
    assert warranty.client.get("/v2/products/SKU-00001/plans").status_code == 200


def test_latency_delays_calls(forecast: Served) -> None:
    forecast.state.configure(latency=0.3)
    started = time.monotonic()
    assert _forecasts(forecast, SKUS[:1]).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_a_hang_is_released_by_a_reset(forecast: Served) -> None:
    forecast.state.configure(hang=True, hang_seconds=20)
    with pytest.raises(httpx.ReadTimeout):
        forecast.client.get("/v1/seasonality", params={"category": "x"}, timeout=0.3)
    forecast.state.reset()
    assert forecast.client.get("/v1/seasonality", params={"category": "x"}).status_code == 200


def test_unknown_paths_are_problems(forecast: Served) -> None:
    assert_problem(forecast.client.get("/v1/nothing"), 404)
    assert_problem(forecast.client.post("/v1/forecasts"), 405)


# --- the runner, `gateway simulators`, `gateway demo` -----------------------


def test_the_runner_serves_declared_simulators(declarations: dict[str, Declaration]) -> None:
    with Simulators.start_in_thread(
        secrets={
            "pricing": "p",
            "crm": "c",
            "shipping": "s",
            "forecast": FORECAST_TOKEN,
            "warranty": WARRANTY_KEY,
        },
        declarations=tuple(declarations.values()),
    ) as sims:
        assert set(sims.declared) == {"forecast", "warranty"}
        assert len(sims.all) == 5
        forecast = sims.declared["forecast"]
        response = httpx.get(
            f"{forecast.url}/v1/forecasts?sku=SKU-00001",
            headers={"Authorization": f"Bearer {FORECAST_TOKEN}"},
        )
        assert response.status_code == 200
        assert forecast.state.count("batchGetForecasts") == 1
        sims.reset()
        assert forecast.state.total == 0
        warranty = sims.declared["warranty"]
        plans = httpx.get(
            f"{warranty.url}/v2/products/SKU-00001/plans", headers={"X-Partner-Key": WARRANTY_KEY}
        )
        assert plans.status_code == 200
    assert declared_port(declarations["forecast"]) == 8104


def _free_port() -> int:
    sock = bind_socket("127.0.0.1", 0)
    port: int = sock.getsockname()[1]
    sock.close()
    return port


def test_gateway_simulators_serves_each_declared_bolt_on(tmp_path: Path) -> None:
    folder = copy_examples(tmp_path / "bolt-ons")
    urls = {name: f"http://127.0.0.1:{_free_port()}" for name in ("FORECAST", "WARRANTY")}
    builtin = {s: f"http://127.0.0.1:{_free_port()}" for s in ("PRICING", "CRM", "SHIPPING")}
    env = clean_environment(
        GATEWAY_BOLT_ONS_DIR=str(folder),
        FORECAST_TOKEN="cli-forecast-token",
        **{f"GATEWAY_{s}_URL": u for s, u in builtin.items()},
        **{f"GATEWAY_BOLT_ON_{name}_URL": url for name, url in urls.items()},
    )
    env.pop("WARRANTY_API_KEY", None)
    command = [sys.executable, "-m", "gateway.cli", "simulators", "--seeded-orders", "10"]
    proc = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{urls['WARRANTY']}/_sim/stats", timeout=0.5).raise_for_status()
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        ok = httpx.get(
            f"{urls['FORECAST']}/v1/forecasts?sku=SKU-00001",
            headers={"Authorization": "Bearer cli-forecast-token"},
        )
        assert ok.status_code == 200
        assert ok.json()["forecasts"][0]["sku"] == "SKU-00001"
        refused = httpx.get(f"{urls['WARRANTY']}/v2/products/SKU-00001/plans")
        assert refused.status_code == 401, "a generated secret is checked too"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            output, _ = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert "export FORECAST_TOKEN=cli-forecast-token" in output
    lines = output.splitlines()
    generated = [line for line in lines if line.startswith("export WARRANTY_API_KEY=")]
    assert len(generated) == 1
    assert f"export GATEWAY_BOLT_ON_WARRANTY_URL={urls['WARRANTY']}" in output


def test_an_invalid_declaration_stops_the_simulators_with_one_line(tmp_path: Path) -> None:
    folder = copy_examples(tmp_path / "bolt-ons", "forecast")
    declaration = folder / "forecast.toml"
    declaration.write_text(declaration.read_text().replace("batchGetForecasts", "getForecast"))
    result = gateway("simulators", GATEWAY_BOLT_ONS_DIR=str(folder), timeout=30)
    assert result.returncode == 2, result.stdout + result.stderr
    problem = [line for line in result.stderr.splitlines() if "forecast.toml" in line]
    assert len(problem) == 1
    assert "fields[0].operation" in problem[0]
    assert "getForecast" in problem[0]


async def test_the_demo_serves_declared_simulators_with_a_shared_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.demo import running_demo

    monkeypatch.delenv("FORECAST_TOKEN", raising=False)
    monkeypatch.setenv("WARRANTY_API_KEY", "demo-warranty-key")
    folder = copy_examples(tmp_path / "bolt-ons")
    async with running_demo(tmp_path, bolt_ons_dir=folder) as info:
        # What the demo put in the environment while it runs.
        seen_env = {
            name: os.environ.get(name)
            for name in ("FORECAST_TOKEN", "WARRANTY_API_KEY", "GATEWAY_BOLT_ON_FORECAST_URL")
        }
        declared = info["declared"]
        assert set(declared) == {"forecast", "warranty"}
        token = seen_env["FORECAST_TOKEN"]
        assert token, "a secret was generated into the declaration's secret_env"
        assert seen_env["WARRANTY_API_KEY"] == "demo-warranty-key", "a set secret is kept"
        assert seen_env["GATEWAY_BOLT_ON_FORECAST_URL"] == declared["forecast"]
        assert f"export FORECAST_TOKEN={token}" in info["env_lines"]
        async with httpx.AsyncClient(timeout=10) as client:
            ok = await client.get(
                f"{declared['forecast']}/v1/forecasts?sku=SKU-00001",
                headers={"Authorization": f"Bearer {token}"},
            )
            refused = await client.get(f"{declared['forecast']}/v1/forecasts?sku=SKU-00001")
            plans = await client.get(
                f"{declared['warranty']}/v2/products/SKU-00001/plans",
                headers={"X-Partner-Key": "demo-warranty-key"},
            )
    assert ok.status_code == 200
    assert refused.status_code == 401
    assert plans.status_code == 200
    assert "FORECAST_TOKEN" not in os.environ, "the demo's environment is undone after it"


def test_an_undeclared_operation_is_served_from_its_arguments(tmp_path: Path) -> None:
    """No field uses getSeasonality here: it answers from its arguments, keys unknown to it."""
    from gateway.bolt_ons.declaration import load_declaration

    folder = copy_examples(tmp_path / "bolt-ons", "forecast")
    toml = folder / "forecast.toml"
    toml.write_text(toml.read_text().split('[[fields]]\non = "Product"\nname = "seasonality"')[0])
    declaration = load_declaration(toml, environ={})
    assert [f.name for f in declaration.fields] == ["forecast"]
    state = SimulatorState("forecast")
    with BackgroundServer(create_declared_app(declaration, secret=None, state=state)) as server:
        first = httpx.get(f"{server.url}/v1/seasonality", params={"category": "__anything"})
        again = httpx.get(f"{server.url}/v1/seasonality", params={"category": "__anything"})
        other = httpx.get(f"{server.url}/v1/seasonality", params={"category": "software"})
    assert first.status_code == 200
    assert_fits(declaration.contract, "getSeasonality", first.json())
    assert first.json()["category"] == "__anything"
    assert first.content == again.content
    assert first.json() != other.json()
    assert state.count("getSeasonality") == 3
    assert state.batches("getSeasonality") == []
