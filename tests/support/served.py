"""``gateway serve`` as a real subprocess, for tests of what only a served process shows.

Header limits (uvicorn's parser), signals, reloads, crashes (``kill -9``):
each test gets its own process, configured by ``GATEWAY_*`` variables as an
operator would, on a port of its own::

    with served_gateway(core_url, sims, tmp_path) as gateway:
        httpx.post(f"{gateway.url}/graphql", ...)
"""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulators.runner import Simulators
from tests.support.cli import free_port, gateway_env, start_server, stop, wait_healthy
from tests.support.gateway import client_config


@dataclass
class ServedGateway:
    """A running ``gateway serve`` process."""

    url: str
    port: int
    process: subprocess.Popen[Any]
    log: Path
    env: dict[str, str]

    def kill(self) -> None:
        """``kill -9``: no shutdown, no cleanup, as a crash would leave it."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def output(self) -> str:
        return self.log.read_text()


def served_env(core_url: str, sims: Simulators, **overrides: str) -> dict[str, str]:
    """The environment of a served gateway: the test client (``AUTH_HEADERS``), no cache."""
    values = {
        "GATEWAY_CLIENTS": json.dumps([client_config()]),
        "GATEWAY_OUTBOX_DISPATCHER": "false",
        **overrides,
    }
    return gateway_env(core_url, sims, **values)


@contextmanager
def served_gateway(
    env: Mapping[str, str],
    folder: Path,
    *args: str,
    port: int | None = None,
    name: str = "gw",
    timeout: float = 60,
) -> Iterator[ServedGateway]:
    """Start ``gateway serve`` with ``env`` (see ``served_env``), wait for /healthz, stop it."""
    port = port if port is not None else free_port()
    log = folder / f"{name}-{port}.log"
    environment = {**env, "GATEWAY_PORT": str(port)}
    process = start_server(environment, *args, log=log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, log, timeout=timeout)
        yield ServedGateway(url, port, process, log, environment)
    finally:
        if process.poll() is None:
            stop(process)


def restart(gateway: ServedGateway, folder: Path, *args: str) -> Any:
    """The same configuration served again on the same port (after ``kill``)."""
    return served_gateway(gateway.env, folder, *args, port=gateway.port, name="restarted")


__all__ = ["ServedGateway", "restart", "served_env", "served_gateway"]
