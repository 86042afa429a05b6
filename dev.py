#!/usr/bin/env python3
"""Bootstrap for the README's two commands; needs only Python 3.11+.

    python3 dev.py demo [gateway demo options]   install, then run the demo
    python3 dev.py test [pytest options]         install, then lint, type-check and test

It creates ``.venv`` beside this file on first use and installs the project
(with its test tools) into it; later runs reinstall only when pyproject.toml
changed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed-pyproject-sha256"


def _ensure_installed() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11 or newer is needed (this is {sys.version.split()[0]}).")
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    print("installing the gateway and its test tools into .venv ...", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[test]"], check=True, cwd=ROOT)
    STAMP.write_text(digest)


def _run(*command: str) -> int:
    return subprocess.run(command, cwd=ROOT).returncode


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test"}:
        print(__doc__)
        return 2
    _ensure_installed()
    what, rest = argv[0], argv[1:]
    if what == "demo":
        os.execv(str(BIN / "gateway"), [str(BIN / "gateway"), "demo", *rest])
    for step in (
        (str(BIN / "ruff"), "check", "."),
        (str(BIN / "ruff"), "format", "--check", "."),
        (str(BIN / "mypy"),),
    ):
        if _run(*step) != 0:
            print(f"failed: {Path(step[0]).name} {' '.join(step[1:])}")
            return 1
    return _run(str(BIN / "python"), "-m", "pytest", *rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
