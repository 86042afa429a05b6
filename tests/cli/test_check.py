"""``gateway check`` run as an operator would: a subprocess against the simulators and a core."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from simulators.runner import Simulators
from tests.support.cli import free_port, gateway_env, run_cli

SQLITE = "sqlite+aiosqlite:///"


def row(output: str, name: str) -> str:
    """The table row of check ``name`` (rich draws one line per row at this width)."""
    lines = [line for line in output.splitlines() if f" {name} " in line]
    assert lines, output
    return lines[0]


def test_passes_on_a_good_setup(sqlite_core: str, sims: Simulators) -> None:
    result = run_cli(gateway_env(sqlite_core, sims), "check")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("settings", "core: connectivity", "core: schema", "pricing", "crm", "shipping"):
        assert " ok " in row(result.stdout, name)
    assert "skip" in row(result.stdout, "redis")
    assert "all checks passed" in result.stdout


def test_fails_on_a_wrong_url(sqlite_core: str, sims: Simulators) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    result = run_cli(gateway_env(sqlite_core, sims, GATEWAY_SHIPPING_URL=dead), "check")
    assert result.returncode == 1
    line = row(result.stdout, "shipping")
    assert "FAIL" in line and "unreachable" in line and dead in line
    assert " ok " in row(result.stdout, "pricing")


def test_fails_on_a_wrong_token_and_names_the_setting(sqlite_core: str, sims: Simulators) -> None:
    env = gateway_env(sqlite_core, sims, GATEWAY_PRICING_TOKEN="not-the-token")
    result = run_cli(env, "check")
    assert result.returncode == 1
    line = row(result.stdout, "pricing")
    assert "FAIL" in line and "HTTP 401" in line and "GATEWAY_PRICING_TOKEN" in line
    assert "not-the-token" not in result.stdout + result.stderr


def test_fails_on_a_missing_core_table(sqlite_core: str, sims: Simulators, tmp_path: Path) -> None:
    damaged = tmp_path / "core.db"
    shutil.copy(sqlite_core.removeprefix(SQLITE), damaged)
    with sqlite3.connect(damaged) as conn:
        conn.execute("DROP TABLE inventory")
    result = run_cli(gateway_env(f"{SQLITE}{damaged}", sims), "check")
    assert result.returncode == 1
    line = row(result.stdout, "core: schema")
    assert "FAIL" in line and "inventory" in line


def test_fails_on_an_unreachable_core_and_redis(sqlite_core: str, sims: Simulators) -> None:
    port = free_port()
    env = gateway_env(
        f"postgresql+asyncpg://gw:secret-pw@127.0.0.1:{port}/core",
        sims,
        GATEWAY_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
    )
    result = run_cli(env, "check", "--budget", "3")
    assert result.returncode == 1
    assert "FAIL" in row(result.stdout, "core: connectivity")
    assert "skip" in row(result.stdout, "core: schema")
    assert "FAIL" in row(result.stdout, "redis")
    assert "secret-pw" not in result.stdout + result.stderr


def test_invalid_settings_are_named(sqlite_core: str, sims: Simulators) -> None:
    result = run_cli(gateway_env(sqlite_core, sims, GATEWAY_PRICING_TIMEOUT="-1"), "check")
    assert result.returncode == 2
    assert "GATEWAY_PRICING_TIMEOUT" in result.stdout + result.stderr


@pytest.mark.redis
def test_redis_is_checked_when_configured(
    sqlite_core: str, sims: Simulators, redis_url: str
) -> None:
    result = run_cli(gateway_env(sqlite_core, sims, GATEWAY_REDIS_URL=redis_url), "check")
    assert result.returncode == 0, result.stdout
    assert " ok " in row(result.stdout, "redis")
