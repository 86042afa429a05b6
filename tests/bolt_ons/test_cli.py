"""``gateway bolt-ons new`` / ``list`` and ``gateway check`` on declared bolt-ons.

``new`` and ``list`` run in-process through typer's runner; ``check`` runs as
a subprocess against the shared seeded core, the built-in simulators and a
declared bolt-on served on loopback (its generated simulator, or a small app
answering what the contract forbids).
"""

from __future__ import annotations

import json
import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from typer.testing import CliRunner, Result

from gateway.app import create_schema
from gateway.bolt_ons.contract import load_contract
from gateway.bolt_ons.declaration import load_declaration
from gateway.bolt_ons.validation import validate_response
from gateway.cli.main import app
from gateway.settings import Settings
from simulators.declared import create_declared_app
from simulators.runner import BackgroundServer, Simulators
from tests.bolt_ons.support import EXAMPLES
from tests.support.cli import REPO, free_port, gateway_env, run_cli

BUILT_IN_CONTRACTS = Path("/work/shared/contracts")
TOKEN = "forecast-test-token"
#: What a proposal and a declaration must agree on.
SHAPE = ("on", "key", "batch_param", "param", "items", "match", "many")


def invoke(*args: str, **env: str) -> Result:
    """``gateway ARGS`` in-process, with ``env`` set (and no stray ``GATEWAY_*`` setting)."""
    return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)


def examples_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "bolt-ons"
    shutil.copytree(EXAMPLES, folder)
    return folder


# --- gateway bolt-ons new --------------------------------------------------


@pytest.mark.parametrize("example", ["forecast", "warranty"])
def test_new_proposes_what_the_shipped_examples_declare(tmp_path: Path, example: str) -> None:
    source = tmp_path / "download"
    source.mkdir()
    contract = shutil.copy(EXAMPLES / f"{example}.openapi.yaml", source)
    folder = tmp_path / "bolt-ons"
    result = invoke("bolt-ons", "new", str(contract), GATEWAY_BOLT_ONS_DIR=str(folder))
    assert result.exit_code == 0, result.output
    written = folder / f"{example}.toml"
    assert f"wrote {written}" in result.stderr
    assert "not loadable" not in result.stderr
    # The contract is copied beside the declaration, which names it relatively.
    assert (folder / f"{example}.openapi.yaml").read_bytes() == Path(contract).read_bytes()
    assert tomllib.loads(written.read_text())["contract"] == f"{example}.openapi.yaml"

    proposed = load_declaration(written, environ={})
    shipped = load_declaration(EXAMPLES / f"{example}.toml", environ={})
    assert proposed.name == shipped.name
    assert proposed.secret_env == shipped.secret_env
    assert proposed.base_url == shipped.base_url
    by_operation = {f.operation.operation_id: f for f in proposed.fields}
    assert set(by_operation) == {f.operation.operation_id for f in shipped.fields}
    for expected in shipped.fields:
        got = by_operation[expected.operation.operation_id]
        assert {k: getattr(got, k) for k in SHAPE} == {k: getattr(expected, k) for k in SHAPE}
        assert got.reads
    # The gateway would start with it: the core schema takes the proposed fields.
    create_schema(Settings(), (proposed,))
    text = written.read_text()
    if example == "forecast":
        assert "maxItems 50" in text
        assert '# args = ["horizon_days"]' in text
    else:
        assert "maxItems 25" in text and "read = true" in text
        assert "X-Partner-Key" in text


@pytest.mark.parametrize(
    ("contract", "enabled", "commented"),
    [
        ("pricing", {"listPrices": ("Product", "sku", "sku", None)}, []),
        (
            "crm",
            {"getAccountInsights": ("Customer", "accountNumber", None, "account_number")},
            ["listAccountActivities"],
        ),
        (
            "shipping",
            {"listShipments": ("Order", "orderNumber", "order_number", None)},
            ["listTrackingEvents"],
        ),
    ],
)
def test_new_on_the_built_in_contracts(
    tmp_path: Path,
    contract: str,
    enabled: dict[str, tuple[str, str, str | None, str | None]],
    commented: list[str],
) -> None:
    folder = tmp_path / "bolt-ons"
    path = BUILT_IN_CONTRACTS / f"{contract}.openapi.yaml"
    result = invoke("bolt-ons", "new", str(path), GATEWAY_BOLT_ONS_DIR=str(folder))
    assert result.exit_code == 0, result.output
    [written] = folder.glob("*.toml")
    # A built-in's name is taken: the title gives another one.
    assert written.stem != contract and written.stem.startswith(contract)
    data = tomllib.loads(written.read_text())
    tables = {table["operation"]: table for table in data["fields"]}
    assert set(tables) == set(enabled)
    for operation, (on, key, batch_param, param) in enabled.items():
        table = tables[operation]
        assert (table["on"], table["key"]) == (on, key)
        assert (table.get("batch_param"), table.get("param")) == (batch_param, param)
    for operation in commented:
        assert f'# operation = "{operation}"' in written.read_text()
    assert "# TODO:" in written.read_text() or not commented
    load_declaration(written, environ={})


def test_new_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    folder = tmp_path / "bolt-ons"
    contract = str(EXAMPLES / "forecast.openapi.yaml")
    assert invoke("bolt-ons", "new", contract, GATEWAY_BOLT_ONS_DIR=str(folder)).exit_code == 0
    declaration = folder / "forecast.toml"
    declaration.write_text("# my edits\n")

    again = invoke("bolt-ons", "new", contract, GATEWAY_BOLT_ONS_DIR=str(folder))
    assert again.exit_code == 1
    assert (
        again.stderr.strip() == f"{declaration} exists: use --force to overwrite it, or --out FILE"
    )
    assert declaration.read_text() == "# my edits\n"

    forced = invoke("bolt-ons", "new", contract, "--force", GATEWAY_BOLT_ONS_DIR=str(folder))
    assert forced.exit_code == 0, forced.output
    load_declaration(declaration, environ={})


def test_new_refuses_to_replace_a_different_contract(tmp_path: Path) -> None:
    folder = tmp_path / "bolt-ons"
    folder.mkdir()
    (folder / "forecast.openapi.yaml").write_text("openapi: 3.0.3\n")
    contract = str(EXAMPLES / "forecast.openapi.yaml")
    result = invoke("bolt-ons", "new", contract, GATEWAY_BOLT_ONS_DIR=str(folder))
    assert result.exit_code == 1
    assert "differs" in result.stderr and "--no-copy" in result.stderr
    assert not (folder / "forecast.toml").exists()


def test_new_with_a_name_to_standard_output(tmp_path: Path) -> None:
    contract = EXAMPLES / "forecast.openapi.yaml"
    result = invoke("bolt-ons", "new", str(contract), "--name", "demand", "--out", "-")
    assert result.exit_code == 0, result.output
    data = tomllib.loads(result.stdout)
    assert data["name"] == "demand" and data["secret_env"] == "DEMAND_TOKEN"
    assert (REPO / data["contract"]).resolve() == contract.resolve()


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--name", "pricing"], "--name: 'pricing' is a built-in service"),
        (["--name", "Bad-Name"], "--name: 'Bad-Name' must be lower case letters"),
    ],
)
def test_new_refuses_a_bad_name(args: list[str], problem: str) -> None:
    result = invoke("bolt-ons", "new", str(EXAMPLES / "forecast.openapi.yaml"), *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(problem)


def test_new_names_a_contract_it_cannot_read(tmp_path: Path) -> None:
    (tmp_path / "partner.yaml").write_text("hello: world\n")
    result = invoke("bolt-ons", "new", str(tmp_path / "partner.yaml"))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"{tmp_path / 'partner.yaml'}: not an OpenAPI 3 contract (no 'openapi: 3.x' entry)"
    ]


# --- gateway bolt-ons list -------------------------------------------------


def test_list_the_examples(tmp_path: Path) -> None:
    folder = examples_folder(tmp_path)
    secret = "a-secret-value-never-printed"
    result = invoke(
        "bolt-ons", "list", "--no-probe", GATEWAY_BOLT_ONS_DIR=str(folder), FORECAST_TOKEN=secret
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert secret not in result.output
    lines = out.splitlines()
    assert lines[0].split() == ["forecast", "declared", str(folder / "forecast.toml")]
    for expected in (
        "Demand Forecast API",
        "base URL  http://127.0.0.1:8104",
        "auth      bearer, FORECAST_TOKEN set",
        "Product.forecast -> batchGetForecasts (key sku, batches of 50, scope forecast:read, "
        "cost 5)",
        "Product.seasonality -> getSeasonality (key category, one call per key, scope "
        "forecast:read)",
        "auth      API key in X-Partner-Key, WARRANTY_API_KEY NOT SET",
        "Product.warrantyPlans -> listWarrantyPlans (key sku, one call per key, list)",
        "Customer.warrantyCoverage -> searchCoverage (key accountNumber, batches of 25",
    ):
        assert expected in out, out
    for built_in in ("pricing", "crm", "shipping"):
        assert any(line.split()[:2] == [built_in, "built-in"] for line in lines), out


def test_list_as_json(tmp_path: Path) -> None:
    folder = examples_folder(tmp_path)
    result = invoke(
        "bolt-ons", "list", "--json", "--no-probe", GATEWAY_BOLT_ONS_DIR=str(folder),
        WARRANTY_API_KEY="k",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    listing = json.loads(result.stdout)
    by_name = {entry["name"]: entry for entry in listing["bolt_ons"]}
    assert list(by_name) == ["forecast", "warranty", "pricing", "crm", "shipping"]
    forecast = by_name["forecast"]
    assert forecast["status"] == "declared" and forecast["auth"] == "bearer"
    assert forecast["secret_env"] == "FORECAST_TOKEN" and forecast["secret_set"] is False
    assert by_name["warranty"]["secret_set"] is True
    assert by_name["warranty"]["auth_header"] == "X-Partner-Key"
    first, second = forecast["fields"]
    assert first["field"] == "Product.forecast" and first["batch_size"] == 50
    assert first["scope"] == "forecast:read" and first["cost"] == 5
    assert first["args"] == ["horizon_days"]
    assert second["one_call_per_key"] is True and second["param"] == "category"
    assert by_name["pricing"]["kind"] == "built-in"
    assert by_name["pricing"]["secret_setting"] == "GATEWAY_PRICING_TOKEN"


def test_list_an_empty_folder_says_where_to_put_files(tmp_path: Path) -> None:
    folder = tmp_path / "bolt-ons"
    folder.mkdir()
    result = invoke("bolt-ons", "list", GATEWAY_BOLT_ONS_DIR=str(folder))
    assert result.exit_code == 0, result.output
    assert "no declared bolt-ons" in result.stderr
    assert f"cp examples/bolt-ons/forecast.* {folder}/" in result.stderr
    assert "gateway bolt-ons new CONTRACT" in result.stderr


@pytest.fixture
def forecast_sim(tmp_path: Path) -> Iterator[str]:
    """The forecast bolt-on's generated simulator on loopback, accepting ``TOKEN``."""
    declaration = load_declaration(EXAMPLES / "forecast.toml", environ={})
    with BackgroundServer(create_declared_app(declaration, secret=TOKEN)) as server:
        yield server.url


def test_list_probes_each_bolt_on(tmp_path: Path, forecast_sim: str) -> None:
    folder = examples_folder(tmp_path)
    env = {
        "GATEWAY_BOLT_ONS_DIR": str(folder),
        "GATEWAY_BOLT_ON_FORECAST_URL": forecast_sim,
        "GATEWAY_BOLT_ON_WARRANTY_URL": f"http://127.0.0.1:{free_port()}",
    }

    def status(result: Result, name: str) -> str:
        [entry] = [e for e in json.loads(result.stdout)["bolt_ons"] if e["name"] == name]
        return str(entry["status"])

    good = invoke("bolt-ons", "list", "--json", **env, FORECAST_TOKEN=TOKEN)
    assert good.exit_code == 0, good.output
    assert status(good, "forecast") == "reachable"
    assert status(good, "warranty") == "down (cannot connect)"
    wrong = invoke("bolt-ons", "list", "--json", **env, FORECAST_TOKEN="wrong")
    assert status(wrong, "forecast") == "credential refused (HTTP 401)"
    text = invoke("bolt-ons", "list", **env, FORECAST_TOKEN=TOKEN).stdout
    assert text.splitlines()[0].split()[:2] == ["forecast", "reachable"]


# --- invalid declarations: one line, exit 2 ----------------------------------

FORECAST_TOML = (EXAMPLES / "forecast.toml").read_text()
SEASONALITY = 'operation = "getSeasonality"'
# A contract with an operation no declared field may use, and a response-less one.
ODD_CONTRACT = """\
openapi: 3.0.3
info: {title: Odd, version: "1"}
servers: [{url: "http://127.0.0.1:9"}]
paths:
  /v1/things/{sku}:
    put:
      operationId: putThing
      parameters: [{name: sku, in: path, required: true, schema: {type: string}}]
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {type: object, properties: {sku: {type: string}}}}}
  /v1/bare:
    get:
      operationId: bare
      parameters: [{name: sku, in: query, schema: {type: string}}]
      responses: {"204": {description: nothing}}
  /v1/two/{region}/{sku}:
    get:
      operationId: twoPaths
      parameters:
        - {name: region, in: path, required: true, schema: {type: string}}
        - {name: sku, in: path, required: true, schema: {type: string}}
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {type: object, properties: {sku: {type: string}}}}}
  /v1/search:
    post:
      operationId: search
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties: {sku: {type: string}, skus: {type: array, items: {type: string}}}
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {type: object, properties: {sku: {type: string}}}}}
"""
ODD_TOML = """\
name = "odd"
contract = "odd.openapi.yaml"

[[fields]]
on = "Product"
name = "thing"
operation = "search"
key = "sku"
batch_param = "skus"
match = "sku"
"""


def _edit(text: str, *edits: tuple[str, str]) -> str:
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def _forecast(*edits: tuple[str, str]) -> dict[str, str]:
    return {"forecast.toml": _edit(FORECAST_TOML, *edits)}


def _odd(*edits: tuple[str, str]) -> dict[str, str]:
    return {"odd.toml": _edit(ODD_TOML, *edits), "odd.openapi.yaml": ODD_CONTRACT}


#: (files written over the examples' folder, file named, key, problem). Every check of
#: declaration.py, and the schema-level ones of gateway.bolt_ons.graph.
INVALID: dict[str, tuple[dict[str, str], str, str, str]] = {
    "not TOML": (
        _forecast(("timeout = 2.0", "timeout = ")),
        "forecast.toml",
        "-",
        "not valid TOML",
    ),
    "unknown top key": (
        _forecast(("timeout = 2.0", 'colour = "red"')),
        "forecast.toml",
        "colour",
        "unknown key (known: base_url,",
    ),
    "unknown field key": (
        _forecast(('key = "sku"', 'key = "sku"\nkeys = "sku"')),
        "forecast.toml",
        "fields[0].keys",
        "unknown key (known: args,",
    ),
    "missing name": (_forecast(('name = "forecast"\n', "")), "forecast.toml", "name", "missing"),
    "name not a string": (
        _forecast(('name = "forecast"\n', "name = 3\n")),
        "forecast.toml",
        "name",
        "must be a non-empty string",
    ),
    "bad name": (
        _forecast(('name = "forecast"\n', 'name = "Fore-cast"\n')),
        "forecast.toml",
        "name",
        "'Fore-cast' must be lower case letters, digits and _ (a-z first)",
    ),
    "reserved name": (
        _forecast(('name = "forecast"\n', 'name = "pricing"\n')),
        "forecast.toml",
        "name",
        "'pricing' is the name of a built-in service",
    ),
    "missing contract file": (
        _forecast(('contract = "forecast.openapi.yaml"', 'contract = "gone.yaml"')),
        "forecast.toml",
        "contract",
        "gone.yaml: cannot read the contract",
    ),
    "not an OpenAPI contract": (
        {
            **_forecast(('contract = "forecast.openapi.yaml"', 'contract = "notes.yaml"')),
            "notes.yaml": "title: notes\n",
        },
        "forecast.toml",
        "contract",
        "not an OpenAPI 3 contract",
    ),
    "bad base_url": (
        _forecast(('base_url = "http://127.0.0.1:8104"', 'base_url = "ftp://x"')),
        "forecast.toml",
        "base_url",
        "'ftp://x' is not an http(s) URL",
    ),
    "bad secret_env": (
        _forecast(('secret_env = "FORECAST_TOKEN"', 'secret_env = "FORECAST TOKEN"')),
        "forecast.toml",
        "secret_env",
        "is not an environment variable name",
    ),
    "secret_env missing when the contract requires auth": (
        _forecast(('secret_env = "FORECAST_TOKEN"', "")),
        "forecast.toml",
        "secret_env",
        "the contract requires bearer auth",
    ),
    "bad timeout": (
        _forecast(("timeout = 2.0", "timeout = 0")),
        "forecast.toml",
        "timeout",
        "must be more than 0 seconds",
    ),
    "timeout not a number": (
        _forecast(("timeout = 2.0", 'timeout = "2"')),
        "forecast.toml",
        "timeout",
        "must be a number of seconds",
    ),
    "bad cache_ttl": (
        _forecast(("cache_ttl = 60", "cache_ttl = -1")),
        "forecast.toml",
        "cache_ttl",
        "must be 0 (not cached) or more seconds",
    ),
    "bad stale_on_error": (
        _forecast(("stale_on_error = true", 'stale_on_error = "yes"')),
        "forecast.toml",
        "stale_on_error",
        "must be true or false",
    ),
    "no fields": (
        {"forecast.toml": FORECAST_TOML.split("[[fields]]")[0]},
        "forecast.toml",
        "fields",
        "declare at least one [[fields]] table",
    ),
    "field missing on": (
        _forecast(('on = "Product"\n', "")),
        "forecast.toml",
        "fields[0].on",
        "missing",
    ),
    "bad field name": (
        _forecast(('name = "forecast"\noperation', 'name = "fore-cast"\noperation')),
        "forecast.toml",
        "fields[0].name",
        "'fore-cast' is not a GraphQL field name",
    ),
    "unknown operationId": (
        _forecast(('operation = "batchGetForecasts"', 'operation = "getForecast"')),
        "forecast.toml",
        "fields[0].operation",
        "'getForecast' is not an operationId of forecast.openapi.yaml "
        "(it has: batchGetForecasts, getSeasonality)",
    ),
    "both batch_param and param": (
        _forecast(('batch_param = "sku"', 'batch_param = "sku"\nparam = "sku"')),
        "forecast.toml",
        "fields[0]",
        "declare exactly one of batch_param (many keys per call) and param",
    ),
    "neither batch_param nor param": (
        _forecast(('param = "category"', "")),
        "forecast.toml",
        "fields[1]",
        "declare exactly one of",
    ),
    "batch_param not an array": (
        _forecast(('batch_param = "sku"', 'batch_param = "horizon_days"')),
        "forecast.toml",
        "fields[0].batch_param",
        "'horizon_days' is not an array query parameter",
    ),
    "batch_param unknown": (
        _forecast(('batch_param = "sku"', 'batch_param = "skus"')),
        "forecast.toml",
        "fields[0].batch_param",
        "'skus' is neither a query parameter nor a body property",
    ),
    "batch body property not an array": (
        _odd(('batch_param = "skus"', 'batch_param = "sku"')),
        "odd.toml",
        "fields[0].batch_param",
        "body property 'sku' is not an array",
    ),
    "param not a path or query parameter": (
        _forecast(('param = "category"', 'param = "kind"')),
        "forecast.toml",
        "fields[1].param",
        "'kind' is not a path or query parameter of getSeasonality",
    ),
    "param leaves a path parameter empty": (
        _odd(
            ('operation = "search"', 'operation = "twoPaths"'),
            ('batch_param = "skus"', 'param = "sku"'),
        ),
        "odd.toml",
        "fields[0].param",
        "path parameter 'region' would have no value",
    ),
    "no JSON response": (
        _odd(
            ('operation = "search"', 'operation = "bare"'),
            ('batch_param = "skus"', 'param = "sku"'),
        ),
        "odd.toml",
        "fields[0].operation",
        "bare has no JSON 200 response schema",
    ),
    "batch response without a list": (
        _odd(),
        "odd.toml",
        "fields[0].items",
        "a batch response needs a list of results",
    ),
    "not a GET or POST": (
        _odd(
            ('operation = "search"', 'operation = "putThing"'),
            ('batch_param = "skus"', 'param = "sku"'),
        ),
        "odd.toml",
        "fields[0].operation",
        "putThing is a PUT; reads are GET or POST",
    ),
    "items property missing": (
        _forecast(('items = "forecasts"', 'items = "results"')),
        "forecast.toml",
        "fields[0].items",
        "the response of batchGetForecasts has no property 'results' (it has: forecasts)",
    ),
    "match property missing": (
        _forecast(('match = "sku"', 'match = "code"')),
        "forecast.toml",
        "fields[0].match",
        "the results of batchGetForecasts have no property 'code' (they have: confidence,",
    ),
    "bad many": (
        _forecast(('match = "sku"', 'match = "sku"\nmany = 1')),
        "forecast.toml",
        "fields[0].many",
        "must be true or false",
    ),
    "args not a list": (
        _forecast(('args = ["horizon_days"]', 'args = "horizon_days"')),
        "forecast.toml",
        "fields[0].args",
        "must be a list of parameter names",
    ),
    "arg carries the keys": (
        _forecast(('args = ["horizon_days"]', 'args = ["sku"]')),
        "forecast.toml",
        "fields[0].args",
        "'sku' carries the keys",
    ),
    "arg unknown": (
        _forecast(('args = ["horizon_days"]', 'args = ["days"]')),
        "forecast.toml",
        "fields[0].args",
        "'days' is neither a parameter nor a body property of batchGetForecasts",
    ),
    "bad scope": (
        _forecast(('scope = "forecast:read"', 'scope = "Forecast"')),
        "forecast.toml",
        "fields[0].scope",
        "'Forecast' is not a scope like 'forecast:read'",
    ),
    "bad cost": (
        _forecast(("cost = 5", "cost = -1")),
        "forecast.toml",
        "fields[0].cost",
        "must be a whole number, 0 or more",
    ),
    "cost not a number": (
        _forecast(("cost = 5", "cost = 1.5")),
        "forecast.toml",
        "fields[0].cost",
        "must be a whole number, 0 or more",
    ),
    "bad concurrency": (
        _forecast(("cost = 5", "concurrency = 0")),
        "forecast.toml",
        "fields[0].concurrency",
        "must be a whole number, 1 or more",
    ),
    "bad read": (
        _forecast(("cost = 5", 'read = "yes"')),
        "forecast.toml",
        "fields[0].read",
        "must be true or false",
    ),
    "duplicate field": (
        _forecast(('name = "seasonality"', 'name = "forecast"')),
        "forecast.toml",
        "fields[1].name",
        "Product.forecast is declared twice",
    ),
    "duplicate bolt-on name across files": (
        {"more.toml": FORECAST_TOML},
        "more.toml",
        "name",
        "'forecast' is already declared by ",
    ),
    # What the core schema decides (gateway.bolt_ons.graph), reported the same way.
    "unknown core type": (
        _forecast(('on = "Product"', 'on = "Produkt"')),
        "forecast.toml",
        "fields[0].on",
        "'Produkt' is not a core type",
    ),
    "unknown key field": (
        _forecast(('key = "sku"', 'key = "skuu"')),
        "forecast.toml",
        "fields[0].key",
        "Product has no field 'skuu'",
    ),
    "name clashes with a core field": (
        _forecast(('name = "seasonality"', 'name = "price"')),
        "forecast.toml",
        "fields[1].name",
        "Product already has a field 'price'",
    ),
}


@pytest.mark.parametrize(("files", "named", "key", "problem"), INVALID.values(), ids=INVALID)
def test_an_invalid_declaration_is_one_line_and_exit_2(
    tmp_path: Path, files: dict[str, str], named: str, key: str, problem: str
) -> None:
    folder = examples_folder(tmp_path)
    for name, text in files.items():
        (folder / name).write_text(text)
    result = invoke("bolt-ons", "list", "--no-probe", GATEWAY_BOLT_ONS_DIR=str(folder))
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"{folder / named}: {key}: "), line
    assert problem in line, line


def test_an_invalid_timeout_override_is_named(tmp_path: Path) -> None:
    folder = examples_folder(tmp_path)
    result = invoke(
        "bolt-ons", "list", "--no-probe", GATEWAY_BOLT_ONS_DIR=str(folder),
        GATEWAY_BOLT_ON_FORECAST_TIMEOUT="soon",
    )  # fmt: skip
    assert result.exit_code == 2
    # (Lines before it may warn of GATEWAY_* variables that are no setting.)
    assert result.stderr.strip().splitlines()[-1] == (
        f"{folder / 'forecast.toml'}: timeout: the override 'soon' is not a number"
    )


# --- gateway check ---------------------------------------------------------


def check_row(output: str, name: str) -> str:
    """The row of check ``name`` in the rendered table."""
    rows = [line for line in output.splitlines() if line.lstrip("│┃ ").startswith(f"{name} ")]
    assert rows, output
    return rows[0]


def run_check(core: str, sims: Simulators, folder: Path, url: str, token: str) -> Any:
    env = gateway_env(
        core,
        sims,
        GATEWAY_BOLT_ONS_DIR=str(folder),
        GATEWAY_BOLT_ON_FORECAST_URL=url,
        FORECAST_TOKEN=token,
        COLUMNS="400",
    )
    return run_cli(env, "check", "--budget", "5")


@pytest.fixture
def forecast_only(tmp_path: Path) -> Path:
    folder = tmp_path / "bolt-ons"
    folder.mkdir()
    for name in ("forecast.toml", "forecast.openapi.yaml"):
        shutil.copy(EXAMPLES / name, folder)
    return folder


def test_check_passes_with_the_right_credential(
    sqlite_core: str, sims: Simulators, forecast_only: Path, forecast_sim: str
) -> None:
    result = run_check(sqlite_core, sims, forecast_only, forecast_sim, TOKEN)
    assert result.returncode == 0, result.stdout + result.stderr
    row = check_row(result.stdout, "forecast")
    assert " ok " in row and "reachable, credential accepted" in row
    # Keys read from the core, and both answers validated.
    assert "Product.forecast for key SKU-" in row and "Product.seasonality for key " in row
    assert " ok " in check_row(result.stdout, "declared bolt-ons")
    assert "all checks passed" in result.stdout


def test_check_fails_on_a_refused_credential(
    sqlite_core: str, sims: Simulators, forecast_only: Path, forecast_sim: str
) -> None:
    result = run_check(sqlite_core, sims, forecast_only, forecast_sim, "not-the-token")
    assert result.returncode == 1
    row = check_row(result.stdout, "forecast")
    assert "FAIL" in row and "refused our credential (HTTP 401): check FORECAST_TOKEN" in row
    assert "not-the-token" not in result.stdout + result.stderr


def test_check_fails_when_the_bolt_on_is_down(
    sqlite_core: str, sims: Simulators, forecast_only: Path
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    result = run_check(sqlite_core, sims, forecast_only, dead, TOKEN)
    assert result.returncode == 1
    row = check_row(result.stdout, "forecast")
    assert "FAIL" in row and f"{dead} unreachable" in row
    assert " ok " in check_row(result.stdout, "pricing")


def _breaking_app() -> Starlette:
    """The forecast contract's paths, answering a forecast the contract forbids."""

    async def forecasts(request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"title": "unauthorized"}, status_code=401)
        skus = request.query_params.getlist("sku")
        items = [{"sku": sku, "horizon_days": 30} for sku in skus]
        return JSONResponse({"forecasts": items})

    async def seasonality(request: Request) -> JSONResponse:
        category = request.query_params["category"]
        return JSONResponse({"category": category, "peak_month": 7, "index": "1.25"})

    return Starlette(
        routes=[Route("/v1/forecasts", forecasts), Route("/v1/seasonality", seasonality)]
    )


def test_check_fails_when_a_sample_answer_breaks_the_contract(
    sqlite_core: str, sims: Simulators, forecast_only: Path
) -> None:
    with BackgroundServer(_breaking_app()) as server:
        result = run_check(sqlite_core, sims, forecast_only, server.url, TOKEN)
    assert result.returncode == 1
    row = check_row(result.stdout, "forecast")
    assert "FAIL" in row and "Product.forecast (batchGetForecasts)" in row
    assert "does not match the contract" in row
    assert "forecasts[0]: 'expected_revenue' is a required property; " in row
    assert row.rstrip(" │").endswith("(and 2 more)")


def test_check_names_an_invalid_declaration(
    sqlite_core: str, sims: Simulators, forecast_only: Path, forecast_sim: str
) -> None:
    declaration = forecast_only / "forecast.toml"
    declaration.write_text(FORECAST_TOML.replace('match = "sku"', 'match = "code"'))
    result = run_check(sqlite_core, sims, forecast_only, forecast_sim, TOKEN)
    assert result.returncode == 1
    row = check_row(result.stdout, "declared bolt-ons")
    assert "FAIL" in row and f"{declaration}: fields[0].match: the results of" in row
    # The rest is still checked.
    assert " ok " in check_row(result.stdout, "core: connectivity")


# --- validation ------------------------------------------------------------


def test_validation_converts_openapi_schemas() -> None:
    crm = load_contract(BUILT_IN_CONTRACTS / "crm.openapi.yaml")
    insights = crm.operations["getAccountInsights"].response
    good = {
        "account_number": "C-000001", "health_score": 50, "churn_risk": "low",
        "lifetime_value": "10.00", "next_best_action": None,
        "owner": {"name": "Dana", "email": "dana@example.com"},
    }  # fmt: skip
    assert validate_response(crm, insights, good) == []
    bad = {**good, "lifetime_value": 10.0, "health_score": 101, "next_best_action": 3}
    assert validate_response(crm, insights, bad) == [
        "health_score: 101 is greater than the maximum of 100",
        "lifetime_value: 10.0 is not of type 'string'",
        "next_best_action: 3 is not of type 'string', 'null'",
    ]
    forecast = load_contract(EXAMPLES / "forecast.openapi.yaml")
    response = forecast.operations["batchGetForecasts"].response
    item = {
        "sku": "S", "horizon_days": 30, "expected_units": 2**40, "expected_revenue": "1.5e3",
        "confidence": "high", "generated_at": "2026-01-01", "range": {"low": 1, "high": 2},
    }  # fmt: skip
    problems = validate_response(forecast, response, {"forecasts": [item]})
    assert problems == [
        "forecasts[0].expected_revenue: '1.5e3' is not a 'decimal'",
        "forecasts[0].generated_at: '2026-01-01' is not a 'date-time' "
        "(no 'T' between the date and the time)",
    ]
    assert validate_response(forecast, response, []) == ["(response): [] is not of type 'object'"]
    assert validate_response(forecast, None, "anything") == []


# --- start-up --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (('operation = "batchGetForecasts"', 'operation = "getForecast"'),
         "fields[0].operation: 'getForecast' is not an operationId of forecast.openapi.yaml"),
        (('on = "Product"', 'on = "Produkt"'), "fields[0].on: 'Produkt' is not a core type"),
        (('name = "forecast"\noperation', 'name = "price"\noperation'),
         "fields[0].name: Product already has a field 'price'"),
    ],
    ids=["contract", "unknown type", "clash"],
)  # fmt: skip
def test_an_invalid_declaration_stops_serve_with_one_line(
    tmp_path: Path, sqlite_core: str, sims: Simulators, edit: tuple[str, str], problem: str
) -> None:
    folder = tmp_path / "bolt-ons"
    folder.mkdir()
    shutil.copy(EXAMPLES / "forecast.openapi.yaml", folder)
    (folder / "forecast.toml").write_text(_edit(FORECAST_TOML, edit))
    env = gateway_env(sqlite_core, sims, GATEWAY_BOLT_ONS_DIR=str(folder), FORECAST_TOKEN="t")
    result = run_cli(env, "serve", "--port", str(free_port()))
    assert result.returncode == 2, result.stdout + result.stderr
    output = (result.stdout + result.stderr).strip().splitlines()
    assert output[0] == "Invalid bolt-on declaration:", output
    assert output[1].strip().startswith(f"{folder / 'forecast.toml'}: {problem}"), output
    assert len(output) == 2  # no traceback, nothing served
