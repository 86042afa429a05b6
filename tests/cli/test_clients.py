"""``gateway clients``: add, list, revoke, rotate edit the TOML file; keys are shown once."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli.main import app
from gateway.security.auth import Authenticator, AuthError
from gateway.settings import load_settings


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, ["clients", *args])
    assert result.exit_code == 0, result.output
    printed = result.stdout.strip()
    if printed.startswith("gwk_"):
        assert result.output.count(printed) == 1, "a new key is printed exactly once"
    return printed


def _authenticator(config: Path) -> Authenticator:
    return Authenticator.from_settings(load_settings(config))


def test_add_list_rotate_revoke(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('env = "production"\n')
    key = _run("add", "acme", "-c", str(config), "-s", "core:read", "-s", "margins:read")
    assert key.startswith("gwk_") and "\n" not in key
    text = config.read_text()
    assert key not in text, "only the hash is stored"
    data = tomllib.loads(text)
    assert data["env"] == "production"
    assert data["clients"][0]["scopes"] == ["core:read", "margins:read"]

    identity = _authenticator(config).authenticate({"x-api-key": key})
    assert identity is not None and identity.client_id == "acme"
    assert identity.scopes == {"core:read", "margins:read"}

    listing = _run("list", "-c", str(config))
    assert "acme" in listing and key not in listing and "sha256" not in listing

    new = _run("rotate", "acme", "-c", str(config))
    assert new != key
    authenticator = _authenticator(config)
    assert authenticator.authenticate({"x-api-key": new}) is not None
    with pytest.raises(AuthError, match="not valid"):
        authenticator.authenticate({"x-api-key": key})

    _run("revoke", "acme", "-c", str(config))
    with pytest.raises(AuthError, match="revoked"):
        _authenticator(config).authenticate({"x-api-key": new})


def test_bad_input_writes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    _run("add", "acme", "-c", str(config), "-s", "core:read")
    before = config.read_text()
    runner = CliRunner()
    unknown = runner.invoke(app, ["clients", "add", "x", "-c", str(config), "-s", "admin:all"])
    assert unknown.exit_code == 2 and "unknown scopes" in unknown.output
    duplicate = runner.invoke(app, ["clients", "add", "acme", "-c", str(config)])
    assert duplicate.exit_code == 1 and "exists" in duplicate.output
    missing = runner.invoke(app, ["clients", "revoke", "nobody", "-c", str(config)])
    assert missing.exit_code == 1
    assert config.read_text() == before
