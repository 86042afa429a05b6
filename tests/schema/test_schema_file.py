"""The committed schema.graphql is what the gateway serves; the CLI prints it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from schema import build_schema

ROOT = Path(__file__).resolve().parents[2]


def test_committed_sdl_matches_the_schema() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert committed.strip() == build_schema().as_str().strip(), (
        "schema.graphql is stale: run `gateway schema > schema.graphql`"
    )


def test_cli_prints_the_sdl() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "schema"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert "type Query {" in result.stdout
    assert result.stdout.strip() == (ROOT / "schema.graphql").read_text().strip()
