"""One fleet for the module: three ``gateway serve`` processes on PostgreSQL + Redis behind HAProxy.

Needs HAProxy (``.ci/run`` installs Debian's), ``GATEWAY_TEST_POSTGRES_URL``
and ``GATEWAY_TEST_REDIS_URL``; skips with the reason otherwise. The core is
seeded by the real ``gateway seed`` into a schema of its own, dropped after.
What the tests measure is printed at the end of the run ("fleet figures").
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleet.cluster import Fleet, FleetSpec
from fleet.database import drop_schema, recreate_schema
from fleet.haproxy import haproxy_binary
from tests.fleet.support import FIGURES
from tests.support.core import POSTGRES_ENV

REDIS_ENV = "GATEWAY_TEST_REDIS_URL"
#: Seeded orders at the fleet's scale (20,000 per unit).
SCALE = 0.02
SEEDED_ORDERS = 400

#: Settings every instance runs with, beside what ``Fleet`` sets.
FLEET_SETTINGS = {
    # Whole responses cached in each instance's memory, the core's included: a write
    # through one instance must drop the others' copies (over Redis).
    "GATEWAY_RESPONSE_CACHE_ENABLED": "true",
    "GATEWAY_RESPONSE_CACHE_INCLUDE_CORE": "true",
    "GATEWAY_RESPONSE_CACHE_TTL": "30",
    # A budget the load never exhausts, and that a few very expensive queries do.
    "GATEWAY_RATE_LIMIT_BURST": "200000",
    "GATEWAY_RATE_LIMIT_PER_SECOND": "5000",
    # Outbox rounds and retries short enough for a test.
    "GATEWAY_OUTBOX_POLL_INTERVAL": "0.2",
    "GATEWAY_OUTBOX_BACKOFF_BASE": "0.2",
    "GATEWAY_OUTBOX_BACKOFF_MAX": "2",
    "GATEWAY_BREAKER_RESET_TIMEOUT": "2",
    # However long the CRM is down, its events wait (pending) rather than fail.
    "GATEWAY_OUTBOX_MAX_ATTEMPTS": "1000",
    "GATEWAY_CORE_POOL_SIZE": "5",
    "GATEWAY_SHUTDOWN_GRACE_SECONDS": "20",
    # GATEWAY_SHUTDOWN_DRAIN_DELAY_SECONDS: the default (5 s) against checks every 500 ms.
    "GATEWAY_ACCESS_LOG": "false",
    # HAProxy closes idle upstream connections before the gateway does: otherwise it may
    # reuse one at the moment the gateway closes it, and the client sees a dropped request.
    "GATEWAY_HTTP_KEEP_ALIVE_SECONDS": "75",
}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("fleet figures")
        for name, line in FIGURES.items():
            terminalreporter.write_line(f"{name}: {line}")


def _requirements() -> tuple[str, str]:
    if haproxy_binary() is None:
        pytest.skip("haproxy is not installed (Debian: apt-get install haproxy; .ci/run does)")
    postgres = os.environ.get(POSTGRES_ENV)
    redis = os.environ.get(REDIS_ENV)
    if not postgres or not redis:
        pytest.skip(f"{POSTGRES_ENV} and {REDIS_ENV} must be set: a fleet shares both")
    return postgres, redis


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    postgres, redis = _requirements()
    schema = f"fleet_{uuid.uuid4().hex[:12]}"
    core_url = recreate_schema(postgres, schema)
    spec = FleetSpec(
        core_url=core_url,
        redis_url=redis,
        workdir=Path(tmp_path_factory.mktemp("fleet")),
        instances=3,
        seed_scale=SCALE,
        seeded_orders=SEEDED_ORDERS,
        clients={
            name: f"gwk_{name}_{secrets.token_urlsafe(18)}" for name in ("load", "probe", "greedy")
        },
        env=FLEET_SETTINGS,
    )
    try:
        with Fleet(spec) as running:
            yield running
    finally:
        drop_schema(postgres, schema)


@pytest.fixture
def healthy(fleet: Fleet) -> Fleet:
    """The fleet with every instance and the CRM running, and HAProxy seeing all UP."""
    if not fleet.crm.running:
        fleet.set_crm(up=True)
    for instance in fleet.instances:
        if not instance.child.running:
            instance.child.start()
            instance.child.wait_http(f"{instance.url}/readyz", timeout=180)
        fleet.haproxy.wait_status(instance.name, "UP")
    return fleet
