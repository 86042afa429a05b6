#!/usr/bin/env python3
"""Bootstrap for the README's commands; needs only Python 3.11+.

    python3 dev.py demo [gateway demo options]   install, then run the demo
    python3 dev.py test [pytest options]         install, then lint, type-check and test
    python3 dev.py gateway COMMAND [options]     install, then run any gateway command

It creates ``.venv`` beside this file on first use and installs the project
(with its test tools) into it; later runs reinstall only when pyproject.toml
changed. Several of these commands may start at once (``demo`` in one shell,
``test`` in another): the first installs, the others wait for it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed-pyproject-sha256"
LOCK = ROOT / ".venv.lock"


@contextlib.contextmanager
def _installing() -> Iterator[None]:
    """Hold the install lock: one process creates and fills ``.venv`` at a time."""
    with open(LOCK, "a") as lock:
        if os.name == "nt":  # the CI and the team run POSIX; Windows waits its turn too
            import msvcrt

            msvcrt.locking(lock.fileno(), msvcrt.LK_LOCK, 1)
        else:
            import fcntl

            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                print("waiting for another dev.py to finish installing .venv ...", flush=True)
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        yield


def _digest() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def _installed() -> bool:
    return STAMP.exists() and STAMP.read_text() == _digest()


def _pip_install() -> None:
    print(
        "installing the gateway and its test tools into .venv (minutes on a first run) ...",
        flush=True,
    )
    pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    for command in ([*pip, "--upgrade", "pip"], [*pip, "-e", f"{ROOT}[test]"]):
        # pip's and the build backend's notices are noise unless something fails.
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            sys.stderr.write(done.stdout + done.stderr)
            sys.exit(f"failed: {' '.join(command[2:])}")


def _ensure_installed() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11 or newer is needed (this is {sys.version.split()[0]}).")
    if _installed():
        return
    with _installing():
        # Another process may have finished while this one waited for the lock.
        if _installed():
            return
        if not STAMP.exists():
            # Never installed, or a run died half-way (no pip yet, say): start afresh.
            print("creating .venv ...", flush=True)
            venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
        _pip_install()
        STAMP.write_text(_digest())


def _run(*command: str) -> int:
    return subprocess.run(command, cwd=ROOT).returncode


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "gateway"}:
        print(__doc__)
        return 2
    _ensure_installed()
    what, rest = argv[0], argv[1:]
    gateway = str(BIN / "gateway")
    if what == "demo":
        os.execv(gateway, [gateway, "demo", *rest])
    if what == "gateway":
        os.execv(gateway, [gateway, *rest])
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
