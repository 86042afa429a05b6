"""The command line a newcomer meets: help with defaults, --version, busy ports named."""

from __future__ import annotations

import re
import time

import pytest

from simulators.runner import bind_socket
from tests.cli.support import gateway


def test_help_shows_the_defaults() -> None:
    result = gateway("serve", "--help", COLUMNS="120")
    assert result.returncode == 0
    text = re.sub(r"\s+", " ", result.stdout)
    assert "Bind address. [default: 127.0.0.1; GATEWAY_HOST]" in text
    assert "Port. [default: 8000; GATEWAY_PORT]" in text
    assert "Worker processes. [default: 1; GATEWAY_WORKERS]" in text


def test_version() -> None:
    result = gateway("--version")
    assert result.returncode == 0
    assert re.fullmatch(r"boltgate \d+\.\d+\.\d+\n", result.stdout)


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_a_busy_port_is_one_line_naming_it(command: str) -> None:
    taken = bind_socket("127.0.0.1", 0)
    port = taken.getsockname()[1]
    try:
        started = time.monotonic()
        result = gateway(command, "--port", str(port))
    finally:
        taken.close()
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "gateway ready" not in result.stderr
    assert f"cannot listen on 127.0.0.1:{port}: the port is in use" in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1
    # Refused before seeding or starting anything.
    assert time.monotonic() - started < 30


def test_the_several_workers_warning_is_printed_once() -> None:
    taken = bind_socket("127.0.0.1", 0)
    try:
        result = gateway(
            "serve",
            "--workers",
            "2",
            "--port",
            str(taken.getsockname()[1]),
            GATEWAY_RESPONSE_CACHE_ENABLED="true",
        )
    finally:
        taken.close()
    assert result.stderr.count("the response cache is on with 2 workers") == 1
