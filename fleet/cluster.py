"""The fleet: simulators, a seeded core, N gateway instances and HAProxy, as processes.

Every part is the real command an operator runs: ``gateway simulators``,
``gateway seed``, ``gateway serve`` and ``haproxy``. The CRM simulator runs
in a process of its own so that it can be taken down alone (an outage the
outbox must ride out); Pricing and Shipping share another.
"""

from __future__ import annotations

import os
import secrets
import signal
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

import orjson

from fleet.haproxy import HAProxy, Upstream, haproxy_binary, render_config
from fleet.processes import Child, FleetError, free_port, gateway_command
from gateway.security.clients import ALL_SCOPES, hash_key

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parents[1]


@dataclass
class FleetSpec:
    """What to run.

    Attributes:
        core_url: the core database (a PostgreSQL URL, maybe pinned to a schema).
        redis_url: the Redis every instance shares.
        workdir: logs, HAProxy's configuration and socket go here.
        instances: how many ``gateway serve`` processes.
        seed_scale: ``gateway seed --scale``; None when the core is seeded already.
        seeded_orders: orders the seed shipped (the Shipping simulator needs it).
        clients: API keys by client id (every scope); one is made if empty.
        env: extra ``GATEWAY_*`` settings for every instance.
        check_interval_ms: HAProxy's health-check interval.
        namespace: prefix of every Redis key and channel of this fleet.
    """

    core_url: str
    redis_url: str
    workdir: Path
    instances: int = 3
    seed_scale: float | None = 0.02
    seeded_orders: int = 400
    clients: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    check_interval_ms: int = 500
    namespace: str = field(default_factory=lambda: f"fleet-{uuid.uuid4().hex[:8]}")


@dataclass
class Instance:
    """One ``gateway serve`` process and its port."""

    name: str
    port: int
    child: Child

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


class Fleet:
    """Starts and stops the whole fleet; restarts, kills and inspects its parts.

    Example:
        >>> with Fleet(FleetSpec(core_url=..., redis_url=..., workdir=tmp)) as fleet:
        ...     httpx.post(f"{fleet.url}/graphql", headers=fleet.headers(), json=...)
        ...     fleet.rolling_restart()
    """

    def __init__(self, spec: FleetSpec) -> None:
        binary = haproxy_binary()
        if binary is None:
            raise FleetError("haproxy is not installed (Debian: apt-get install haproxy)")
        self.spec = spec
        spec.workdir.mkdir(parents=True, exist_ok=True)
        if not spec.clients:
            spec.clients["fleet"] = "gwk_" + secrets.token_urlsafe(24)
        self.credentials = {
            "PRICING_TOKEN": secrets.token_urlsafe(16),
            "CRM_API_KEY": secrets.token_urlsafe(16),
            "SHIPPING_TOKEN": secrets.token_urlsafe(16),
        }
        self.ports = {service: free_port() for service in ("pricing", "crm", "shipping")}
        self.bolt_ons = Child(
            "bolt-ons",
            # Pricing and Shipping; this process's CRM takes any free port (port 0), unused.
            gateway_command("simulators", "--seeded-orders", str(spec.seeded_orders)),
            env=self._env(GATEWAY_CRM_URL=f"http://{HOST}:0"),
            log=spec.workdir / "bolt-ons.log",
            cwd=REPO,
        )
        self.crm = Child(
            "crm",
            gateway_command("simulators", "--seeded-orders", str(spec.seeded_orders)),
            env=self._env(
                GATEWAY_PRICING_URL=f"http://{HOST}:0", GATEWAY_SHIPPING_URL=f"http://{HOST}:0"
            ),
            log=spec.workdir / "crm.log",
            cwd=REPO,
        )
        self.instances = [
            self._instance(f"g{index}", free_port()) for index in range(1, spec.instances + 1)
        ]
        self.balanced_port, self.plain_port = free_port(), free_port()
        stats_socket = spec.workdir / "haproxy.sock"
        self.haproxy = HAProxy(
            render_config(
                [Upstream(i.name, HOST, i.port) for i in self.instances],
                balanced_port=self.balanced_port,
                plain_port=self.plain_port,
                stats_socket=stats_socket,
                check_interval_ms=spec.check_interval_ms,
            ),
            workdir=spec.workdir,
            stats_socket=stats_socket,
            binary=binary,
        )

    # --- what clients use ----------------------------------------------------

    @property
    def url(self) -> str:
        """HAProxy, retrying refused connections elsewhere (how an operator runs it)."""
        return f"http://{HOST}:{self.balanced_port}"

    @property
    def plain_url(self) -> str:
        """HAProxy with health checks only: no retry anywhere else."""
        return f"http://{HOST}:{self.plain_port}"

    def headers(self, client: str | None = None) -> dict[str, str]:
        """The API-key header of ``client`` (default: the first one)."""
        key = self.spec.clients[client] if client else next(iter(self.spec.clients.values()))
        return {"X-Api-Key": key}

    @property
    def crm_url(self) -> str:
        return f"http://{HOST}:{self.ports['crm']}"

    # --- environment ---------------------------------------------------------

    def _env(self, **overrides: str) -> dict[str, str]:
        spec = self.spec
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        clients = [
            {"id": client, "scopes": sorted(ALL_SCOPES), "key_hashes": [hash_key(key)]}
            for client, key in spec.clients.items()
        ]
        env.update(
            {
                "PYTHONUNBUFFERED": "1",
                "GATEWAY_ENV": "production",
                "GATEWAY_CORE_DATABASE_URL": spec.core_url,
                "GATEWAY_REDIS_URL": spec.redis_url,
                "GATEWAY_PRICING_URL": f"http://{HOST}:{self.ports['pricing']}",
                "GATEWAY_CRM_URL": f"http://{HOST}:{self.ports['crm']}",
                "GATEWAY_SHIPPING_URL": f"http://{HOST}:{self.ports['shipping']}",
                **{f"GATEWAY_{name}": value for name, value in self.credentials.items()},
                "GATEWAY_CLIENTS": orjson.dumps(clients).decode(),
                # One fleet's keys and channels never meet another's in a shared Redis.
                "GATEWAY_CACHE_NAMESPACE": spec.namespace,
                "GATEWAY_RATE_LIMIT_KEY_PREFIX": f"{spec.namespace}:rl:",
                "GATEWAY_APQ_KEY_PREFIX": f"{spec.namespace}:apq:",
                "GATEWAY_EVENTS_CHANNEL": f"{spec.namespace}:events",
                "GATEWAY_RESPONSE_CACHE_CHANNEL": f"{spec.namespace}:response-cache",
                **spec.env,
                **overrides,
            }
        )
        return env

    def _instance(self, name: str, port: int) -> Instance:
        child = Child(
            name,
            gateway_command("serve", "--host", HOST, "--port", str(port)),
            env=self._env(),
            log=self.spec.workdir / f"{name}.log",
            cwd=REPO,
        )
        return Instance(name, port, child)

    # --- lifecycle -----------------------------------------------------------

    def start(self) -> None:
        spec = self.spec
        self.bolt_ons.start()
        self.crm.start()
        if spec.seed_scale is not None:
            seed = Child(
                "seed",
                gateway_command("seed", "--scale", str(spec.seed_scale)),
                env=self._env(),
                log=spec.workdir / "seed.log",
                cwd=REPO,
            )
            seed.start()
            if seed.wait(300) != 0:
                raise FleetError(f"gateway seed failed:\n{seed.tail()}")
        for url, child in (
            (f"http://{HOST}:{self.ports['pricing']}/_sim/stats", self.bolt_ons),
            (f"{self.crm_url}/_sim/stats", self.crm),
        ):
            child.wait_http(url)
        for instance in self.instances:
            instance.child.start()
        for instance in self.instances:
            instance.child.wait_http(f"{instance.url}/readyz", timeout=180)
        self.haproxy.start()
        for instance in self.instances:
            self.haproxy.wait_status(instance.name, "UP")

    def stop(self) -> dict[str, int | None]:
        """Stop everything (instances first, all at once); exit statuses by name."""
        statuses: dict[str, int | None] = {}
        for instance in self.instances:
            instance.child.signal(signal.SIGTERM)
        for instance in self.instances:
            statuses[instance.name] = instance.child.stop(60)
        self.haproxy.stop()
        statuses["bolt-ons"] = self.bolt_ons.stop()
        statuses["crm"] = self.crm.stop()
        return statuses

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- operations ----------------------------------------------------------

    def restart(self, instance: Instance, *, timeout: float = 180.0) -> dict[str, float]:
        """SIGTERM ``instance``, wait for its exit, start it again, wait until HAProxy has it UP.

        Nothing is done at the load balancer: it learns of the drain from ``/readyz``.
        Returns the phases' durations in seconds.
        """
        started = time.monotonic()
        instance.child.signal(signal.SIGTERM)
        down = self.haproxy.wait_status(instance.name, "DOWN", timeout=timeout)
        status = instance.child.wait(timeout)
        if status != 0:
            raise FleetError(f"{instance.name} exited with {status}:\n{instance.child.tail()}")
        exited = time.monotonic() - started
        instance.child.start()
        instance.child.wait_http(f"{instance.url}/readyz", timeout=timeout)
        self.haproxy.wait_status(instance.name, "UP", timeout=timeout)
        return {"down_after": down, "exited_after": exited, "up_after": time.monotonic() - started}

    def rolling_restart(self) -> list[dict[str, float]]:
        """Restart every instance, one at a time."""
        return [self.restart(instance) for instance in self.instances]

    def set_crm(self, *, up: bool) -> None:
        """Start or stop the CRM simulator (its port refuses connections while down)."""
        if up:
            self.crm.start()
            self.crm.wait_http(f"{self.crm_url}/_sim/stats")
        else:
            self.crm.stop()

    def instance_env(self) -> Mapping[str, str]:
        """The environment every instance runs with (for the CLI, say)."""
        return self._env()
