"""Child processes of the fleet, each writing to its own log file."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx


class FleetError(RuntimeError):
    """Something of the fleet did not start, stop or answer as expected."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now, below the kernel's ephemeral range.

    Ports are chosen before the processes that bind them start (and an
    instance binds its port again on every restart); in the ephemeral range
    an outgoing connection could take one in between.
    """
    low, _ = _ephemeral_range()
    for _ in range(200):
        port = random.randrange(max(1024, low - 12_000), low)  # noqa: S311 (not a secret)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    raise FleetError("found no free port below the ephemeral range")


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def gateway_command(*args: str) -> list[str]:
    """``gateway ARGS`` run by this interpreter (the venv's, wherever it is)."""
    return [sys.executable, "-m", "gateway.cli", *args]


class Child:
    """One child process and its log file.

    Args:
        name: a short name for messages ("gateway-1").
        command: the program and its arguments.
        env: its whole environment.
        log: the file its stdout and stderr go to (appended: restarts keep history).
        cwd: its working directory.
    """

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        *,
        env: Mapping[str, str],
        log: Path,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.command = list(command)
        self.env = dict(env)
        self.log = log
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.running:
            raise FleetError(f"{self.name} is already running")
        with self.log.open("ab") as handle:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(  # noqa: S603 (our own commands, no shell)
                self.command,
                env=self.env,
                cwd=self.cwd,
                stdout=handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    @property
    def pid(self) -> int:
        if self.process is None:
            raise FleetError(f"{self.name} was never started")
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, sig: signal.Signals) -> None:
        if self.running:
            os.kill(self.pid, sig)

    def wait(self, timeout: float) -> int:
        """Wait for the exit; its status. Raises ``FleetError`` after ``timeout``."""
        if self.process is None:
            raise FleetError(f"{self.name} was never started")
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise FleetError(f"{self.name} still runs after {timeout:.0f} s") from None

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, wait up to ``timeout``, then SIGKILL; the exit status (None if never run)."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait(10)

    def kill(self) -> None:
        """SIGKILL (kill -9) and reap."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def tail(self, lines: int = 40) -> str:
        """The end of the log, for error messages."""
        try:
            text = self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_http(self, url: str, *, timeout: float = 60.0, status: int = 200) -> None:
        """Poll ``url`` until it answers ``status``; fail early if the process dies."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise FleetError(f"{self.name} exited ({self.process.returncode}):\n{self.tail()}")
            try:
                if httpx.get(url, timeout=2).status_code == status:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise FleetError(f"{self.name}: {url} did not answer {status} in {timeout:.0f} s")
