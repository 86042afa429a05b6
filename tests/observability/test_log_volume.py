"""Logs stay bounded under abuse and outages: one line per request, repeats held back.

A refused or failed request writes its access line and nothing else;
repeated error codes are folded (``FORBIDDEN*42``); a warning that repeats
(one per request while Redis is down, say) is written once a minute with a
count; the outbox warns once per outage, not once per poll, and backs off.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from pathlib import Path

import pytest

from adapters.core import CoreAdapter
from adapters.core.gateway_tables import ensure_gateway_tables
from adapters.crm import CrmAdapter
from gateway.observability.logs import RepeatFilter, TextFormatter
from gateway.writes.outbox import OutboxDispatcher
from simulators.runner import Simulators
from tests.http.support import Serve
from tests.support.gateway import TEST_CLIENT_ID, client_config
from tests.support.simulators import CRM_API_KEY

COSTLY = "{ products(first: 50) { edges { node { sku } } } }"


def _lines(caplog: pytest.LogCaptureFixture, expected: int) -> list[logging.LogRecord]:
    """The records of the requests so far (the server thread may write the last one late)."""

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        access = [r for r in caplog.records if r.name == "gateway.access"]
        if len(access) >= expected:
            break
        time.sleep(0.02)
    return list(caplog.records)


def test_a_refused_request_is_one_line_naming_the_caller(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        serve(rate_limit_burst=5, rate_limit_per_second=0.001) as http,
        caplog.at_level(logging.DEBUG),
    ):
        caplog.clear()
        requests = [
            {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
            {"json": {"query": "{ product(sku: "}},  # a syntax error, with a valid key
            {"json": {"query": "{ nope }"}},
            {"json": {"query": COSTLY}},
            {"json": {"query": COSTLY}},  # the budget spent by the first one
            {"json": {"query": "{ __typename }"}, "headers": {"X-Api-Key": "gwk_wrong"}},
        ]
        statuses = [http.post("/graphql", **kw).status_code for kw in requests]  # type: ignore[arg-type]
        records = _lines(caplog, len(requests))
    assert statuses == [400, 200, 200, 200, 429, 401]
    gateway_records = [r for r in records if r.name.startswith(("gateway", "adapters", "uvicorn"))]
    access = [r for r in gateway_records if r.name == "gateway.access"]
    assert len(access) == len(requests), [r.getMessage() for r in gateway_records]
    assert [r for r in gateway_records if r.name != "gateway.access"] == []
    clients = [r.__dict__["client_id"] for r in access]
    assert clients == [TEST_CLIENT_ID] * 5 + ["anonymous"]
    codes = [r.__dict__["errors"] for r in access]
    assert codes == [
        ["BAD_REQUEST"],
        ["GRAPHQL_PARSE_FAILED"],
        ["GRAPHQL_VALIDATION_FAILED"],
        [],
        ["RATE_LIMITED"],
        ["UNAUTHENTICATED"],
    ]
    assert not any("INTERNAL" in code for line in codes for code in line)


def test_repeated_codes_are_folded(serve: Serve, caplog: pytest.LogCaptureFixture) -> None:
    reader = client_config(scopes=["core:read"])
    with serve(clients=[reader]) as http, caplog.at_level(logging.INFO, logger="gateway.access"):
        caplog.clear()
        body = http.post(
            "/graphql",
            json={"query": "{ products(first: 20) { edges { node { sku unitCost } } } }"},
        ).json()
        (line,) = [r for r in _lines(caplog, 1) if r.name == "gateway.access"]
    assert len(body["errors"]) == 20
    assert line.__dict__["errors"] == ["FORBIDDEN*20"]
    assert "errors=FORBIDDEN*20" in line.getMessage()


def test_a_repeating_warning_is_written_once_a_window_with_a_count() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter())
    repeats = RepeatFilter(window=0.3)
    handler.addFilter(repeats)
    logger = logging.getLogger("gateway.test.repeats")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        for _ in range(100):
            logger.warning("rate limiter: Redis unavailable; letting the request through")
        logger.warning("another warning")
        logger.info("info lines are never held back")
        logger.info("info lines are never held back")

        time.sleep(0.35)
        logger.warning("rate limiter: Redis unavailable; letting the request through")
        for error in (ValueError("a"), KeyError("b")):
            try:
                raise error
            except Exception:
                logger.exception("unexpected error at %s", "x")
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    redis = [line for line in lines if "Redis unavailable" in line]
    assert len(redis) == 2
    assert redis[1].endswith("(99 more like this in the last 0.3 s)")
    assert sum("another warning" in line for line in lines) == 1
    assert sum("info lines" in line for line in lines) == 2
    # Two different bugs under one message template are two entries, not one.
    assert sum("unexpected error at x" in line for line in lines) == 2, lines


async def test_the_outbox_warns_once_per_outage_and_backs_off(
    tmp_path: Path, sims: Simulators, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "not-yet"
    core = CoreAdapter(f"sqlite+aiosqlite:///{folder / 'core.db'}")
    crm = CrmAdapter(sims.crm.url, api_key=CRM_API_KEY)
    dispatcher = OutboxDispatcher(core, crm, poll_interval=0.05)
    assert [dispatcher.idle_wait(n) for n in (0, 1, 2, 3)] == [0.05, 0.1, 0.2, 0.4]
    assert dispatcher.idle_wait(100) == 30.0
    caplog.set_level(logging.INFO, logger="gateway.writes.outbox")
    async with core, crm:
        dispatcher.start()
        try:
            await asyncio.sleep(2.0)  # about 40 polls at 0.05 s; a handful with the backoff
            failing = [r for r in caplog.records if "outbox rounds failing" in r.getMessage()]
            assert len(failing) == 1
            assert "unable to open database file" in failing[0].getMessage() or "core" in (
                failing[0].getMessage()
            )
            folder.mkdir()
            await ensure_gateway_tables(core)
            deadline = asyncio.get_running_loop().time() + 30
            while not any("succeed again" in r.getMessage() for r in caplog.records):
                assert asyncio.get_running_loop().time() < deadline, "no recovery noticed"
                await asyncio.sleep(0.05)
        finally:
            await dispatcher.stop()
    outbox_lines = [r for r in caplog.records if r.name == "gateway.writes.outbox"]
    assert len(outbox_lines) == 2, [r.getMessage() for r in outbox_lines]
