"""Real JavaScript clients against the served gateway, run by Node.

The scripts beside this file use the packages of ``package.json`` (pinned
in ``package-lock.json``, installed with ``npm ci --prefix tests/clients``,
which ``.ci/run`` does and this module does when ``node_modules`` is
missing): graphql-http's conformance audit, Apollo Client 4 (HttpLink,
BatchHttpLink, @defer with both incremental handlers, GraphQLWsLink),
graphql-ws, subscriptions-transport-ws and urql. Each prints one JSON
object; the assertions are here.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.app import create_app
from simulators.runner import BackgroundServer, Simulators
from tests.support.core import private_copy
from tests.support.gateway import TEST_API_KEY, settings_for

HERE = Path(__file__).resolve().parent
NODE = shutil.which("node")
NPM = shutil.which("npm")

pytestmark = pytest.mark.skipif(
    NODE is None or NPM is None, reason="node and npm are not installed (Node >= 20 runs these)"
)


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """``tests/clients/node_modules``, installed from the lock file if missing."""
    target = HERE / "node_modules"
    assert NPM is not None
    # Two test runs at once must not both install into the same folder.
    with open(HERE / ".npm-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / ".package-lock.json").exists():
            installed = subprocess.run(
                [NPM, "ci", "--no-audit", "--no-fund", "--prefix", str(HERE)],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            if installed.returncode != 0:
                pytest.fail(f"npm ci --prefix tests/clients failed:\n{installed.stderr[-2000:]}")
    return target


@pytest.fixture(scope="module")
def graphql_url(
    sqlite_core: str, sims: Simulators, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    # The bolt-on cache off: each deferred price is a real (slow) Pricing call. Apollo's
    # script cancels an order: on a copy of the shared core, which the read tests count.
    core = private_copy(sqlite_core, tmp_path_factory.mktemp("node-clients"))
    app = create_app(settings_for(core, sims, cache_enabled=False))
    with BackgroundServer(app) as server:
        yield f"{server.url}/graphql"


def run_node(script: str, graphql_url: str, node_modules: Path) -> dict[str, Any]:
    """Run ``script`` against the gateway; its JSON report."""
    assert NODE is not None and node_modules.is_dir()
    env = {**os.environ, "GATEWAY_URL": graphql_url, "GATEWAY_KEY": TEST_API_KEY}
    done = subprocess.run(
        [NODE, str(HERE / script)],
        env=env,
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    assert lines, f"{script} printed nothing (status {done.returncode}):\n{done.stderr[-3000:]}"
    report: dict[str, Any] = json.loads(lines[-1])
    assert done.returncode == 0 and "error" not in report, report.get("error", done.stderr)
    return report


def test_the_graphql_over_http_audit_passes(graphql_url: str, node_modules: Path) -> None:
    results = run_node("audit.mjs", graphql_url, node_modules)["results"]
    assert len(results) > 40
    not_ok = [r for r in results if r["status"] != "ok"]
    assert not_ok == [], json.dumps(not_ok, indent=2)


def _streamed(emissions: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The partial (core data only) and complete emissions of a deferred query."""
    states = [emission["dataState"] for emission in emissions]
    assert states[-2:] == ["streaming", "complete"], states
    partial, complete = emissions[-2], emissions[-1]
    assert "price" not in partial["data"]["product"]
    assert complete["data"]["product"]["price"]["listPrice"]
    return partial, complete


def test_apollo_client(graphql_url: str, node_modules: Path, sims: Simulators) -> None:
    sims.pricing.state.latency = 1.0
    report = run_node("apollo.mjs", graphql_url, node_modules)

    assert report["plain"] == {
        "sku": "SKU-00004",
        "error": {"name": "CombinedGraphQLErrors", "codes": ["GRAPHQL_VALIDATION_FAILED"]},
    }
    # BatchHttpLink: three queries, one HTTP request, each answered.
    assert report["batched"] == {"requests": 1, "skus": ["SKU-00001", "SKU-00002", "SKU-00003"]}
    for handler in ("defer20220824", "deferAlpha9"):
        partial, complete = _streamed(report[handler])
        # The core data came while Pricing (1 s) was still answering.
        assert complete["at"] - partial["at"] >= 0.7, (handler, partial, complete)
    _streamed(report["websocket"]["deferred"])
    subscription = report["websocket"]["subscription"]
    assert subscription["mutation"]["order"]["status"] == "CANCELLED"
    assert subscription["event"] == {
        "__typename": "OrderEvent",
        "type": "ORDER_CANCELLED",
        "orderNumber": subscription["orderNumber"],
        "status": "CANCELLED",
    }


def test_websocket_clients(graphql_url: str, node_modules: Path) -> None:
    report = run_node("ws.mjs", graphql_url, node_modules)
    answered = {"data": {"product": {"sku": "SKU-00001"}}}
    graphql_ws = report["graphqlWs"]
    assert (
        graphql_ws["headers"] == graphql_ws["authorization"] == graphql_ws["authToken"] == answered
    )
    assert graphql_ws["wrongKey"] == {
        "closed": {"code": 4403, "reason": "the API key is not valid"}
    }
    assert graphql_ws["none"]["closed"]["code"] == 4403
    assert graphql_ws["none"]["closed"]["reason"].startswith("authentication required")
    assert report["legacy"] == {
        "authToken": answered,
        "wrongKey": {"error": "the API key is not valid"},
    }


def test_urql(graphql_url: str, node_modules: Path, sims: Simulators) -> None:
    sims.pricing.state.latency = 1.0
    report = run_node("urql.mjs", graphql_url, node_modules)
    assert report["plain"] == {"product": {"sku": "SKU-00003"}}
    first, *_, last = report["deferred"]
    assert first["hasNext"] is True and "price" not in first["data"]["product"]
    assert last["hasNext"] is False and last["data"]["product"]["price"]["listPrice"]
    assert last["at"] - first["at"] >= 0.7
