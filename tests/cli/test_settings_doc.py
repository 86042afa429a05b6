"""docs/configuration.md is generated from the Settings class and cannot drift from it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from gateway.cli.main import app
from gateway.cli.settings_doc import DOC_PATH, render, write
from gateway.settings import Settings
from tests.support.cli import REPO


def test_committed_reference_matches_the_settings() -> None:
    committed = (REPO / DOC_PATH).read_text(encoding="utf-8")
    assert committed == render(), (
        "docs/configuration.md is out of date: run `gateway settings-doc --write`"
    )


def test_every_field_has_a_row_with_its_variable() -> None:
    text = render()
    for name in Settings.model_fields:
        assert f"| `{name}`" in text
        assert f"`GATEWAY_{name.upper()}`" in text


def test_secrets_are_marked_and_their_defaults_hidden() -> None:
    rows = {
        line.split("|")[1].strip(): line for line in render().splitlines() if line.startswith("| `")
    }
    assert "🔒" in rows["`pricing_token` 🔒"]
    assert "`crm_api_key` 🔒" in rows
    assert "`pricing_url`" in rows and "🔒" not in rows["`pricing_url`"]
    assert "`http://127.0.0.1:8101`" in rows["`pricing_url`"]


def test_cli_prints_and_writes_the_same_text(tmp_path: Path) -> None:
    printed = CliRunner().invoke(app, ["settings-doc"])
    assert printed.exit_code == 0
    assert printed.output == render()
    target = tmp_path / "configuration.md"
    assert write(target) is True
    assert target.read_text(encoding="utf-8") == render()
    assert write(target) is False  # already up to date
