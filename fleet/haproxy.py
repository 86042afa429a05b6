"""HAProxy in front of the gateway instances: its configuration and its stats socket.

Two frontends share one set of health checks:

- ``balanced`` (backend ``gateways``) is how an operator would run it:
  ``/readyz`` every ``check_interval``, and a connection that fails is
  retried on another instance (``option redispatch``); requests already sent
  to an instance are never retried (they may be mutations).
- ``plain`` (backend ``plain``) only follows those health checks (``track``):
  no redispatch, so every connection an instance refuses is a 503 to the
  client. A rolling restart through it loses nothing only if each instance
  goes on accepting until the load balancer has taken it out.

Every response says which instance served it (``X-Served-By``).
"""

from __future__ import annotations

import csv
import io
import shutil
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fleet.processes import Child, FleetError

HAPROXY = "haproxy"


def haproxy_binary() -> str | None:
    """Where HAProxy is installed, or None (Debian: ``apt-get install haproxy``).

    Debian puts it in /usr/sbin, which a non-root PATH may lack.
    """
    found = shutil.which(HAPROXY)
    if found is None and Path("/usr/sbin/haproxy").exists():
        found = "/usr/sbin/haproxy"
    return found


@dataclass(frozen=True)
class Upstream:
    """One gateway instance as HAProxy sees it."""

    name: str
    host: str
    port: int


def render_config(
    upstreams: Sequence[Upstream],
    *,
    balanced_port: int,
    plain_port: int,
    stats_socket: Path,
    host: str = "127.0.0.1",
    check_interval_ms: int = 500,
    fall: int = 3,
    rise: int = 2,
    check_timeout_s: float = 5.0,
) -> str:
    """The HAProxy configuration of the fleet (see the module docstring).

    A draining instance's ``/readyz`` answers 503 at once, so it is out after
    ``fall`` checks; the generous check timeout only keeps a busy but healthy
    instance (a slow ``/readyz``) from being taken out.
    """
    servers = "\n".join(f"  server {u.name} {u.host}:{u.port} check" for u in upstreams)
    tracked = "\n".join(
        f"  server {u.name} {u.host}:{u.port} track gateways/{u.name}" for u in upstreams
    )
    return f"""\
global
  maxconn 4096
  stats socket {stats_socket} mode 600 level admin
  stats timeout 10s
  # Requests that did not end well (one line each), to stderr: the fleet's haproxy.log.
  log stderr format raw local0 info

defaults
  mode http
  log global
  option httplog
  option dontlog-normal
  option http-keep-alive
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
  timeout check {check_timeout_s:g}s
  # Idle upstream connections are purged every few seconds, well inside the gateways'
  # keep-alive (GATEWAY_HTTP_KEEP_ALIVE_SECONDS): the gateway never closes one under us.
  default-server inter {check_interval_ms}ms fall {fall} rise {rise} pool-purge-delay 5s

frontend balanced
  bind {host}:{balanced_port}
  default_backend gateways

frontend plain
  bind {host}:{plain_port}
  default_backend plain

backend gateways
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  # A refused connection goes to another instance; a request already sent is never retried.
  retries 3
  option redispatch 1
  retry-on conn-failure
  http-response set-header X-Served-By %[srv_name]
{servers}

backend plain
  balance roundrobin
  http-response set-header X-Served-By %[srv_name]
{tracked}
"""


@dataclass(frozen=True)
class ServerStat:
    """One server line of ``show stat``."""

    backend: str
    name: str
    status: str  # UP, DOWN, "UP 1/2" while rising, "DOWN 1/2" while falling, MAINT
    current_sessions: int
    total_sessions: int
    last_change_seconds: int


class HAProxy:
    """HAProxy running in the foreground, with its stats socket.

    Args:
        config: the configuration text.
        workdir: where the configuration, the socket and the log go.
        binary: the haproxy executable.
    """

    def __init__(self, config: str, *, workdir: Path, stats_socket: Path, binary: str) -> None:
        self.config_path = workdir / "haproxy.cfg"
        self.config_path.write_text(config)
        self.stats_socket = stats_socket
        check = Child(
            "haproxy-check",
            [binary, "-c", "-f", str(self.config_path)],
            env={},
            log=workdir / "haproxy.log",
        )
        check.start()
        if check.wait(30) != 0:
            raise FleetError(f"haproxy rejects its configuration:\n{check.tail()}")
        self.child = Child(
            "haproxy", [binary, "-db", "-f", str(self.config_path)], env={}, log=check.log
        )

    def start(self, timeout: float = 10.0) -> None:
        self.child.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.child.running:
                raise FleetError(f"haproxy exited:\n{self.child.tail()}")
            try:
                self.command("show info")
                return
            except OSError:
                time.sleep(0.05)
        raise FleetError("haproxy's stats socket never answered")

    def stop(self) -> None:
        self.child.stop(10)

    def command(self, line: str) -> str:
        """One command on the stats socket (``show stat``, ``disable server ...``)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(self.stats_socket))
            sock.sendall(line.encode() + b"\n")
            chunks: list[bytes] = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def servers(self, backend: str = "gateways") -> dict[str, ServerStat]:
        """The servers of ``backend`` by name."""
        text = self.command("show stat").lstrip("# ")
        found: dict[str, ServerStat] = {}
        for row in csv.DictReader(io.StringIO(text)):
            if row["pxname"] != backend or row["svname"] in {"FRONTEND", "BACKEND"}:
                continue
            found[row["svname"]] = ServerStat(
                backend=backend,
                name=row["svname"],
                status=row["status"],
                current_sessions=int(row["scur"] or 0),
                total_sessions=int(row["stot"] or 0),
                last_change_seconds=int(row["lastchg"] or 0),
            )
        return found

    def wait_status(self, name: str, status: str, *, timeout: float = 30.0) -> float:
        """Wait until server ``name`` is exactly ``status`` (UP, DOWN); seconds it took."""
        started = time.monotonic()
        deadline = started + timeout
        last = "?"
        while time.monotonic() < deadline:
            server = self.servers().get(name)
            last = server.status if server is not None else "missing"
            if last == status:
                return time.monotonic() - started
            time.sleep(0.02)
        raise FleetError(f"haproxy: {name} is {last!r}, not {status!r}, after {timeout:.0f} s")
