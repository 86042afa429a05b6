"""One structured log line per request; JSON in production, readable text in development."""

from __future__ import annotations

import logging

import orjson
import pytest

from gateway.observability.logs import JsonFormatter, configure_logging, formatter_for, log_format
from simulators.runner import Simulators
from tests.support.gateway import PRICED_QUERY, TEST_CLIENT_ID, running_gateway, settings_for
from tests.support.simulators import PRICING_TOKEN


def access_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "gateway.access"]


async def test_one_line_per_request_with_its_figures(
    sqlite_core: str, sims: Simulators, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.access")
    async with running_gateway(settings_for(sqlite_core, sims, cache_enabled=False)) as gateway:
        response = await gateway.client.post(
            "/graphql", json={"query": PRICED_QUERY}, headers={"x-request-id": "ops-log-1"}
        )
        assert response.status_code == 200
        await gateway.client.get("/healthz")  # polled endpoints are not logged at INFO

    (record,) = access_records(caplog)
    line = orjson.loads(JsonFormatter().format(record))
    assert line["request_id"] == "ops-log-1"
    assert line["operation"] == "OpsPriced"
    assert line["status"] == 200
    assert line["client_id"] == TEST_CLIENT_ID  # the authenticated client
    assert line["errors"] == []
    assert line["duration_ms"] > 0
    # product by sku (core) + listPrices (pricing), at least.
    assert line["backend_calls"] >= 2
    assert line["backend_calls_by_service"]["pricing"] == 1
    assert line["level"] == "info"
    assert "ops-log-1" not in str(line.get("message"))  # the id is a field, not prose


async def test_errors_are_listed_by_code(
    sqlite_core: str, sims: Simulators, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.access")
    sims.pricing.state.configure(failure_rate=1.0, failure_status=503)
    async with running_gateway(settings_for(sqlite_core, sims, cache_enabled=False)) as gateway:
        await gateway.client.post("/graphql", json={"query": PRICED_QUERY})
    (record,) = access_records(caplog)
    line = orjson.loads(JsonFormatter().format(record))
    assert line["errors"] == ["UPSTREAM_UNAVAILABLE"]
    assert line["backend_errors"] >= 1
    # No credential reaches the log line.
    assert PRICING_TOKEN not in JsonFormatter().format(record)


def test_format_follows_the_environment(sqlite_core: str, sims: Simulators) -> None:
    production = settings_for(sqlite_core, sims, env="production")
    development = settings_for(sqlite_core, sims)
    assert log_format(production) == "json"
    assert isinstance(formatter_for(production), JsonFormatter)
    assert log_format(development) == "text"
    text = formatter_for(development).format(
        logging.makeLogRecord(
            {"name": "gateway.access", "levelname": "INFO", "msg": "POST /graphql 200 Op 3.1ms"}
        )
    )
    assert text.endswith("INFO    gateway.access: POST /graphql 200 Op 3.1ms")
    with_ids = formatter_for(development).format(
        logging.makeLogRecord(
            {
                "name": "gateway.access",
                "levelname": "INFO",
                "msg": "POST /graphql 200",
                "request_id": "ops-text-1",
                "client_id": "erp-portal",
            }
        )
    )
    assert with_ids.endswith("POST /graphql 200 [request=ops-text-1 client=erp-portal]")
    assert log_format(settings_for(sqlite_core, sims, log_format="json")) == "json"


def test_configure_logging_writes_json_lines_to_stderr(
    sqlite_core: str, sims: Simulators, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    uvicorn_error = logging.getLogger("uvicorn.error")
    uvicorn_saved = (uvicorn_error.handlers[:], uvicorn_error.propagate, uvicorn_error.level)
    httpx_level = logging.getLogger("httpx").level
    try:
        configure_logging(settings_for(sqlite_core, sims, env="production", log_level="info"))
        logging.getLogger("gateway.access").info(
            "POST /graphql 200", extra={"request_id": "ops-json-1", "backend_calls": 3}
        )
        uvicorn_error.setLevel(logging.INFO)  # as uvicorn.run(log_level="info") sets it
        uvicorn_error.info("Started", extra={"color_message": "\x1b[36mStarted\x1b[0m"})
        logging.getLogger("httpx").info("HTTP Request: GET http://pricing/v1/prices?sku=1")
        lines = [orjson.loads(line) for line in capsys.readouterr().err.splitlines()]
    finally:
        root.handlers[:], root.level = saved
        uvicorn_error.handlers[:], uvicorn_error.propagate, uvicorn_error.level = uvicorn_saved
        logging.getLogger("httpx").setLevel(httpx_level)
    assert [line["logger"] for line in lines] == ["gateway.access", "uvicorn.error"]
    assert lines[0]["request_id"] == "ops-json-1" and lines[0]["backend_calls"] == 3
    assert "color_message" not in lines[1]
