"""``python -m fleet up`` / ``python -m fleet rehearse``: a gateway fleet on this machine.

Needs PostgreSQL, Redis and HAProxy (Debian: ``apt-get install haproxy``);
no Docker. Everything binds 127.0.0.1. The core is seeded into a schema of
its own (``--schema``, recreated on every run and dropped on exit).
"""

from __future__ import annotations

import os
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Annotated

import typer

from fleet.cluster import Fleet, FleetSpec
from fleet.database import drop_schema, recreate_schema
from fleet.load import Load
from fleet.processes import FleetError

app = typer.Typer(
    help="A fleet of gateway instances behind HAProxy, on this machine.",
    no_args_is_help=True,
    add_completion=False,
)

DatabaseOption = Annotated[
    str,
    typer.Option(
        envvar="FLEET_DATABASE_URL", help="PostgreSQL server (a schema of the fleet's own is used)."
    ),
]
RedisOption = Annotated[str, typer.Option(envvar="FLEET_REDIS_URL", help="Redis server.")]
SchemaOption = Annotated[str, typer.Option(help="PostgreSQL schema for the core (recreated).")]
InstancesOption = Annotated[int, typer.Option(min=1, max=16, help="gateway serve processes.")]
ScaleOption = Annotated[float, typer.Option(min=0.001, help="gateway seed --scale.")]

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def _spec(
    database_url: str, redis_url: str, schema: str, instances: int, scale: float
) -> FleetSpec:
    workdir = Path(tempfile.mkdtemp(prefix="boltgate-fleet-"))
    try:
        core_url = recreate_schema(database_url, schema)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--schema") from None
    except OSError as exc:
        typer.echo(f"cannot reach PostgreSQL at {database_url}: {exc}", err=True)
        raise typer.Exit(1) from None
    # 1,000 customers and 20,000 orders per unit of scale.
    return FleetSpec(
        core_url=core_url,
        redis_url=redis_url,
        workdir=workdir,
        instances=instances,
        seed_scale=scale,
        seeded_orders=max(1, round(20_000 * scale)),
    )


@app.command()
def up(
    database_url: DatabaseOption = DEFAULT_DATABASE,
    redis_url: RedisOption = DEFAULT_REDIS,
    schema: SchemaOption = "boltgate_fleet",
    instances: InstancesOption = 3,
    scale: ScaleOption = 0.02,
) -> None:
    """Start the fleet and keep it running until Ctrl+C (or SIGTERM)."""
    spec = _spec(database_url, redis_url, schema, instances, scale)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with Fleet(spec) as fleet:
            [(client, key)] = list(spec.clients.items())[:1]
            typer.echo(f"load balancer:      {fleet.url}   (health checks, retries elsewhere)")
            typer.echo(f"plain frontend:     {fleet.plain_url}   (health checks only)")
            for instance in fleet.instances:
                typer.echo(f"{instance.name}: {instance.url}  pid {instance.child.pid}")
            typer.echo(
                f"haproxy stats:      echo 'show stat' | socat - {fleet.haproxy.stats_socket}"
            )
            typer.echo(f"logs:               {spec.workdir}")
            typer.echo(f"API key ({client}):  {key}")
            typer.echo(
                f"try: curl -s {fleet.url}/graphql -H 'X-Api-Key: {key}' "
                "-H 'Content-Type: application/json' -d '{\"query\":\"{ warehouses { code } }\"}'"
            )
            typer.echo(
                "restart one instance gracefully: kill -TERM <pid>; this command starts it again."
            )
            typer.echo("Ctrl+C stops everything.")
            try:
                while not stop.wait(1):
                    _restart_exited(fleet)
            except KeyboardInterrupt:
                pass
    except FleetError as exc:
        typer.echo(f"fleet failed: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        drop_schema(database_url, schema)


def _restart_exited(fleet: Fleet) -> None:
    """Like a container orchestrator: an instance that exited is started again."""
    for instance in fleet.instances:
        if not instance.child.running:
            typer.echo(f"{instance.name} exited; starting it again")
            instance.child.start()
            instance.child.wait_http(f"{instance.url}/readyz")
            typer.echo(f"{instance.name} is ready again (pid {instance.child.pid})")


@app.command()
def rehearse(
    database_url: DatabaseOption = DEFAULT_DATABASE,
    redis_url: RedisOption = DEFAULT_REDIS,
    schema: SchemaOption = "boltgate_fleet",
    instances: InstancesOption = 3,
    scale: ScaleOption = 0.02,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests in flight.")] = 16,
    warmup: Annotated[float, typer.Option(help="Seconds of load before the restarts.")] = 5.0,
    drain_delay: Annotated[
        float | None,
        typer.Option(
            min=0,
            help="GATEWAY_SHUTDOWN_DRAIN_DELAY_SECONDS [default: the gateway's, 5]; "
            "0 shows what closing the listener at once costs.",
        ),
    ] = None,
) -> None:
    """Rolling restart under load: SIGTERM each instance in turn; print what clients saw."""
    spec = _spec(database_url, redis_url, schema, instances, scale)
    if drain_delay is not None:
        spec.env["GATEWAY_SHUTDOWN_DRAIN_DELAY_SECONDS"] = str(drain_delay)
    try:
        with Fleet(spec) as fleet:
            typer.echo(f"fleet up: {len(fleet.instances)} instances behind {fleet.plain_url}")
            with Load(fleet.plain_url, headers=fleet.headers(), concurrency=concurrency) as load:
                time.sleep(warmup)
                began = time.monotonic()
                for instance in fleet.instances:
                    phases = fleet.restart(instance)
                    typer.echo(
                        f"{instance.name}: out of HAProxy after {phases['down_after']:.1f} s, "
                        f"exited after {phases['exited_after']:.1f} s, "
                        f"back UP after {phases['up_after']:.1f} s"
                    )
                ended = time.monotonic()
                time.sleep(1)
            typer.echo(f"before the restarts: {load.summary(until=began).line()}")
            typer.echo(f"during the restarts: {load.summary(began, ended).line()}")
            typer.echo(f"whole run:           {load.summary().line()}")
            if load.failures():
                typer.echo(f"failures: {load.failures()}")
    except FleetError as exc:
        typer.echo(f"fleet failed: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        drop_schema(database_url, schema)


if __name__ == "__main__":
    os.environ.setdefault("COLUMNS", "120")
    app()
