"""``gateway clients`` keeps the settings file's permissions and a revoked client revoked."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli.main import app
from gateway.security.auth import Authenticator, AuthError
from gateway.settings import load_settings


def _clients(*args: str) -> str:
    result = CliRunner().invoke(app, ["clients", *args])
    assert result.exit_code == 0, result.output
    return result.output


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mode", [0o600, 0o640])
def test_every_edit_keeps_the_files_mode(tmp_path: Path, mode: int) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('jwt_hs256_secret = "a-secret-that-must-stay-private"\n')
    os.chmod(config, mode)
    _clients("add", "acme", "-c", str(config), "-s", "core:read")
    assert _mode(config) == mode
    _clients("rotate", "acme", "-c", str(config))
    assert _mode(config) == mode
    _clients("revoke", "acme", "-c", str(config))
    assert _mode(config) == mode
    _clients("restore", "acme", "-c", str(config))
    assert _mode(config) == mode
    assert sorted(os.listdir(tmp_path)) == ["gateway.toml"], "no temporary file is left"
    assert "a-secret-that-must-stay-private" in config.read_text()


def test_a_new_file_is_the_owners_alone(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    _clients("add", "acme", "-c", str(config), "-s", "core:read")
    assert _mode(config) == 0o600


def test_rotating_a_revoked_client_does_not_let_it_back_in(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    _clients("add", "acme", "-c", str(config), "-s", "core:read")
    _clients("revoke", "acme", "-c", str(config))
    output = _clients("rotate", "acme", "-c", str(config))
    key = next(line for line in output.splitlines() if line.startswith("gwk_"))
    assert "still revoked" in output
    with pytest.raises(AuthError, match="revoked"):
        Authenticator.from_settings(load_settings(config)).authenticate({"x-api-key": key})
    _clients("restore", "acme", "-c", str(config))
    identity = Authenticator.from_settings(load_settings(config)).authenticate({"x-api-key": key})
    assert identity is not None and identity.client_id == "acme"
