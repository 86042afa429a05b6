"""The ``gateway`` command as a subprocess, as an operator runs it: environment, start, stop."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from simulators.runner import Simulators
from tests.support.simulators import CRM_API_KEY, PRICING_TOKEN, SHIPPING_TOKEN

REPO = Path(__file__).resolve().parents[2]
#: ``bolt_ons_dir`` of every test that declares none: a folder that does not exist, so
#: declarations a developer copied into the checkout's ``bolt-ons/`` never reach a test.
NO_BOLT_ONS = REPO / "tests" / "no-bolt-ons-here"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def gateway_env(core_url: str, sims: Simulators, **overrides: str) -> dict[str, str]:
    """The environment of a ``gateway`` subprocess: ours less any GATEWAY_*, plus these."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(
        {
            "GATEWAY_CORE_DATABASE_URL": core_url,
            "GATEWAY_PRICING_URL": sims.pricing.url,
            "GATEWAY_PRICING_TOKEN": PRICING_TOKEN,
            "GATEWAY_CRM_URL": sims.crm.url,
            "GATEWAY_CRM_API_KEY": CRM_API_KEY,
            "GATEWAY_SHIPPING_URL": sims.shipping.url,
            "GATEWAY_SHIPPING_TOKEN": SHIPPING_TOKEN,
            "GATEWAY_CACHE_ENABLED": "false",
            "GATEWAY_BOLT_ONS_DIR": str(NO_BOLT_ONS),
            "COLUMNS": "200",
            "PYTHONUNBUFFERED": "1",
            **overrides,
        }
    )
    return env


def gateway_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "gateway.cli", *args]


def run_cli(
    env: Mapping[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        gateway_command(*args),
        env=dict(env),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_server(env: Mapping[str, str], *args: str, log: Path) -> subprocess.Popen[Any]:
    with log.open("w") as handle:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            gateway_command("serve", *args),
            env=dict(env),
            cwd=REPO,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )


def wait_healthy(url: str, process: subprocess.Popen[Any], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gateway exited early ({process.returncode}):\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"gateway did not start:\n{log.read_text()}")


def stop(process: subprocess.Popen[Any], timeout: float = 15) -> int:
    """Terminate (if still running) and reap the process; return its exit status."""
    if process.poll() is None:
        process.terminate()
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
        raise
