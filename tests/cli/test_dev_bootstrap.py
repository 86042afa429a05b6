"""``python3 dev.py demo`` and ``python3 dev.py test`` started at once on a fresh clone.

Both find no ``.venv``; before, both created it and one died with "No module
named pip" while the other was still running ensurepip. Now the first
creates and fills it and the other waits, then finds it ready. pip itself
is replaced by a recorder here (the test runs offline); the virtual
environment is created for real.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.cli.support import ROOT

CHILD = """
import os, subprocess, sys, time
sys.path.insert(0, sys.argv[1])
import dev

def recorded_install():
    # Only one process may get here, and only once the venv (with its pip) is complete.
    subprocess.run([str(dev.BIN / "python"), "-m", "pip", "--version"], check=True,
                   stdout=subprocess.DEVNULL)
    with open(os.path.join(sys.argv[1], "installs.log"), "a") as log:
        log.write(f"{os.getpid()} start {time.time()}\\n")
    time.sleep(1.0)
    with open(os.path.join(sys.argv[1], "installs.log"), "a") as log:
        log.write(f"{os.getpid()} end {time.time()}\\n")

dev._pip_install = recorded_install
dev._ensure_installed()
"""


def test_concurrent_bootstraps_install_once(tmp_path: Path) -> None:
    project = tmp_path / "clone"
    project.mkdir()
    shutil.copy(ROOT / "dev.py", project / "dev.py")
    (project / "pyproject.toml").write_text('[project]\nname = "fresh"\nversion = "0"\n')
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(project)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [child.communicate(timeout=300)[0] for child in children]
    assert [child.returncode for child in children] == [0, 0], outputs
    events = (project / "installs.log").read_text().split()
    assert events[1::3] == ["start", "end"], events
    assert (project / ".venv" / ".installed-pyproject-sha256").exists()
    assert sum("creating .venv" in output for output in outputs) == 1, outputs
