"""`gateway simulators` serves the three bolt-ons with the settings' credentials."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from simulators.runner import bind_socket

TOKENS = {
    "GATEWAY_PRICING_TOKEN": "cli-pricing-token",
    "GATEWAY_CRM_API_KEY": "cli-crm-key",
    "GATEWAY_SHIPPING_TOKEN": "cli-shipping-token",
}


def _free_port() -> int:
    sock = bind_socket("127.0.0.1", 0)
    port: int = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture
def served() -> Iterator[dict[str, str]]:
    urls = {s: f"http://127.0.0.1:{_free_port()}" for s in ("PRICING", "CRM", "SHIPPING")}
    env = {**os.environ, **TOKENS, **{f"GATEWAY_{s}_URL": u for s, u in urls.items()}}
    command = [sys.executable, "-m", "gateway.cli", "simulators", "--seeded-orders", "50"]
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{urls['SHIPPING']}/_sim/stats", timeout=0.5).raise_for_status()
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield {s.lower(): u for s, u in urls.items()}
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
            assert proc.stdout is not None
            proc.stdout.close()


def test_serves_each_contract_with_the_configured_credentials(served: dict[str, str]) -> None:
    pricing = httpx.get(
        f"{served['pricing']}/v1/prices",
        params={"sku": "SKU-00001"},
        headers={"Authorization": "Bearer cli-pricing-token"},
    )
    assert pricing.status_code == 200
    assert pricing.json()["items"][0]["sku"] == "SKU-00001"
    wrong = httpx.get(f"{served['pricing']}/v1/prices", params={"sku": "SKU-00001"})
    assert wrong.status_code == 401
    insights = httpx.get(
        f"{served['crm']}/v1/accounts/C-000001/insights", headers={"X-Api-Key": "cli-crm-key"}
    )
    assert insights.status_code == 200
    shipments = httpx.get(
        f"{served['shipping']}/v1/shipments",
        params={"order_number": [f"SO-{i:06d}" for i in range(1, 51)]},
        headers={"Authorization": "Bearer cli-shipping-token"},
    )
    assert shipments.status_code == 200
    assert shipments.json()["items"], "seeded orders up to --seeded-orders have shipments"
