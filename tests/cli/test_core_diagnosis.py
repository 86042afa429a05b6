"""``gateway check`` says what the database said, without credentials, and finds the default core.

The default SQLite core is ``core.db`` in the checkout's ``.gateway/``
folder, whichever folder a command runs from.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli.check import run_checks
from gateway.settings import Settings
from tests.cli.support import ROOT, gateway
from tests.support.core import SKIP_REASON
from tests.support.core import configured_postgres as postgres_url


def _core_detail(url: str) -> str:
    import asyncio

    results = asyncio.run(run_checks(Settings(core_database_url=url), budget=5))
    (connectivity,) = [r for r in results if r.name == "core: connectivity"]
    assert connectivity.status == "fail"
    return connectivity.detail


@pytest.fixture
def base() -> str:
    url = postgres_url()
    if url is None:
        pytest.skip(SKIP_REASON)
    return url


@pytest.mark.postgres
def test_an_unknown_database_is_named(base: str) -> None:
    url = base.rsplit("/", 1)[0] + "/no_such_database_here"
    detail = _core_detail(url)
    assert "InvalidCatalogNameError" in detail
    assert 'database "no_such_database_here" does not exist' in detail


@pytest.mark.postgres
def test_a_refused_login_is_named_without_its_password(base: str) -> None:
    host_and_db = base.split("@", 1)[1]
    detail = _core_detail(f"postgresql+asyncpg://nobody_here:hunter2-secret@{host_and_db}")
    assert 'role "nobody_here" does not exist' in detail or "password authentication" in detail
    assert "hunter2-secret" not in detail


def test_an_unreachable_database_says_where() -> None:
    detail = _core_detail("postgresql+asyncpg://u:pw-never-shown@127.0.0.1:1/db")
    assert "ConnectionRefusedError" in detail
    assert "127.0.0.1" in detail
    assert "pw-never-shown" not in detail


def test_a_missing_sqlite_file_is_named_and_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "absent" / "core.db"
    detail = _core_detail(f"sqlite+aiosqlite:///{missing}")
    assert detail.startswith(f"no database file at {missing}: run `gateway demo`")
    assert not missing.exists()


def test_the_default_core_is_in_the_checkout_wherever_the_command_runs(tmp_path: Path) -> None:
    expected = ROOT / ".gateway" / "core.db"
    assert Settings().core_database_url == f"sqlite+aiosqlite:///{expected}"
    result = gateway("check", "--budget", "2", cwd=tmp_path, COLUMNS="300")
    assert str(expected) in result.stdout
    assert ".gateway/core.db" in result.stdout
    assert not (tmp_path / ".gateway").exists()


@pytest.mark.parametrize("command", [["seed", "--scale", "0.01"], ["outbox"], ["outbox", "replay"]])
def test_commands_on_an_unreachable_core_are_one_line(command: list[str]) -> None:
    url = "postgresql://gw:pw-never-shown@127.0.0.1:1/erp"
    result = gateway(*command, GATEWAY_CORE_DATABASE_URL=url)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Connect call failed ('127.0.0.1', 1)" in lines[0]
    assert "pw-never-shown" not in result.stderr + result.stdout
