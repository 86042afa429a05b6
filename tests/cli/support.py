"""Running the ``gateway`` command as a user would: a child process, its output and status."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without its ``GATEWAY_*`` settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("GATEWAY_")}
    env.update(extra)
    return env


def gateway(
    *args: str, cwd: Path | None = None, timeout: float = 60, **env: str
) -> subprocess.CompletedProcess[str]:
    """``gateway ARGS`` with ``env`` set, run to completion."""
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        env=clean_environment(**env),
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
