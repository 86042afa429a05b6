"""``gateway demo``: the embedded core, the simulators and the gateway in one process.

Seeds the SQLite core on first run, serves the simulators on their contract
ports (8101-8103, or free ones when those are taken) with the configured
credentials (fresh random ones where none are set), and the gateway on its
port, all in one event loop. While it runs, ``demo.env`` in the data folder
holds the ``export`` lines another shell needs for ``gateway check`` (or a
``gateway serve`` of its own) against the same core and simulators.

Each bolt-on declared in ``bolt_ons_dir`` gets a simulator generated from its
contract, on the port of its ``base_url`` (or a free one). The demo points
the gateway at it through ``GATEWAY_BOLT_ON_<NAME>_URL`` and, when the
declaration's ``secret_env`` is unset, a fresh secret in that variable, both
set in this process's environment while the demo runs (the gateway reads
declarations and their secrets from there).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shlex
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from adapters.core import CoreAdapter
from gateway.backends_settings import data_dir
from gateway.bolt_ons import BoltOnFacts
from gateway.bolt_ons.declaration import Declaration
from gateway.cli.common import declarations_or_exit
from gateway.security.clients import ALL_SCOPES, ClientConfig, hash_key, new_key
from gateway.settings import Settings
from plugins import BUILT_IN
from simulators.runner import Simulators, bind_socket, declared_port, serve_together, url_of
from simulators.seed import seed


def _free_or_any(host: str, port: int) -> int:
    """``port`` when it can be bound now, else 0 (any free port)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        probe.bind((host, port))
    except OSError:
        return 0
    finally:
        probe.close()
    return port


async def prepare_core(
    settings: Settings, *, scale: float, progress: Callable[[str, int, int], None] | None = None
) -> int:
    """Create and seed the core when it is empty; return the number of seeded orders."""
    async with CoreAdapter(settings.core_database_url) as core:
        await core.create_schema()
        existing = await core.count_orders(status=None, customer_id=None)
        if existing:
            return existing
        summary = await seed(core, scale=scale, progress=progress)
        return summary.seeded_orders


def plugin_credentials(settings: Settings) -> dict[str, str]:
    """Each code plugin's configured credential, by service; a random one for each not set."""
    return {
        plugin.name: plugin.secret(settings) or secrets.token_urlsafe(16) for plugin in BUILT_IN
    }


def environment_lines(settings: Settings, extra: Mapping[str, str] | None = None) -> list[str]:
    """``export`` lines that point another gateway command at this demo's backends.

    ``extra``: more variables, e.g. the declared bolt-ons' URLs and secrets.
    """
    values = {"GATEWAY_CORE_DATABASE_URL": settings.core_database_url}
    for plugin in BUILT_IN:
        values[f"GATEWAY_{plugin.url_setting.upper()}"] = plugin.url(settings)
    for plugin in BUILT_IN:
        values[plugin.credential_variable] = plugin.secret(settings) or ""
    values.update(extra or {})
    return [f"export {key}={shlex.quote(value)}" for key, value in values.items()]


def declared_secrets(declarations: Sequence[Declaration]) -> dict[str, str]:
    """Each declared bolt-on's secret: its ``secret_env`` variable's, else a fresh random one."""
    return {d.name: d.secret or secrets.token_urlsafe(16) for d in declarations}


def declared_url_variable(declaration: Declaration) -> str:
    """``GATEWAY_BOLT_ON_<NAME>_URL``: overrides the declaration's ``base_url``."""
    return f"GATEWAY_BOLT_ON_{declaration.name.upper()}_URL"


def declared_environment(
    declarations: Sequence[Declaration], sims: Simulators, secrets_by_name: Mapping[str, str]
) -> dict[str, str]:
    """The variables that point a gateway at the declared simulators, with their secrets."""
    values: dict[str, str] = {}
    for declaration in declarations:
        values[declared_url_variable(declaration)] = sims.declared[declaration.name].url
        if declaration.secret_env is not None:
            values[declaration.secret_env] = secrets_by_name[declaration.name]
    return values


@contextlib.contextmanager
def environment_set(values: Mapping[str, str]) -> Iterator[None]:
    """``values`` in ``os.environ`` for the block; what was there before comes back after."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def environment_file(lines: list[str], folder: Path | None = None) -> Iterator[Path]:
    """``demo.env`` holding ``lines`` (owner-only: it has credentials) while the demo runs."""
    path = (folder or data_dir()) / "demo.env"
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write("# gateway demo: `. " + str(path) + "` points gateway commands at it\n")
        file.write("\n".join(lines) + "\n")
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


async def run_demo(
    settings: Settings,
    *,
    seeded_orders: int,
    started: Callable[[dict[str, Any]], None] | None = None,
    stop: asyncio.Event | None = None,
    gateway_sock: socket.socket | None = None,
    env_folder: Path | None = None,
    declarations: Sequence[Declaration] | None = None,
) -> None:
    """Serve the whole demo until ``stop`` is set or the process gets SIGINT/SIGTERM.

    Args:
        gateway_sock: the gateway's listening socket (bound on ``settings``' host
            and port when not given).
        env_folder: where ``demo.env`` goes (default: the data folder).
        declarations: the declared bolt-ons to simulate (default: those in
            ``settings.bolt_ons_dir``; an invalid one exits 2).
    """
    credentials = plugin_credentials(settings)
    if declarations is None:
        declarations = declarations_or_exit(settings)
    secrets_by_name = declared_secrets(declarations)
    sims = _demo_simulators(credentials, seeded_orders, declarations, secrets_by_name)
    declared_values = declared_environment(declarations, sims, secrets_by_name)
    # A demo client with every scope; its key is printed at start and lives as long as the demo.
    demo_key = new_key()
    gateway_settings = _demo_settings(settings, sims, demo_key, credentials, declarations)
    sock = gateway_sock if gateway_sock is not None else bind_socket(settings.host, settings.port)
    lines = environment_lines(gateway_settings, declared_values)

    # Imported here: `gateway simulators` shares this module's helpers, not the gateway.
    from gateway.app import create_app

    # Set before the gateway is built: it reads the declarations' URLs and secrets from there.
    with environment_set(declared_values), environment_file(lines, env_folder) as env_file:
        app = create_app(gateway_settings)
        ready = asyncio.Event()

        async def announce() -> None:
            await ready.wait()
            if started is not None:
                started(_banner(sock, sims, demo_key, env_file, lines))

        announcer = asyncio.create_task(announce())
        try:
            await serve_together(
                [*sims.bindings(), (app, sock)], stop=stop, started=ready, log_level="warning"
            )
        finally:
            announcer.cancel()


def _banner(
    sock: socket.socket, sims: Simulators, demo_key: str, env_file: Path, lines: list[str]
) -> dict[str, Any]:
    """What the demo prints once everything listens."""
    return {
        "graphiql": f"{url_of(sock)}/graphql",
        "built_in": {name: served.url for name, served in sims.built_in.items()},
        "declared": {name: served.url for name, served in sims.declared.items()},
        "api_key": demo_key,
        "headers": json.dumps({"Authorization": f"Bearer {demo_key}"}),
        "env_file": str(env_file),
        "env_lines": lines,
    }


def _demo_simulators(
    credentials: dict[str, str],
    seeded_orders: int,
    declarations: Sequence[Declaration],
    secrets_by_name: Mapping[str, str],
) -> Simulators:
    """Every simulator on its contract's port (any free port when that one is taken)."""
    ports = {plugin.name: _free_or_any("127.0.0.1", plugin.demo_port) for plugin in BUILT_IN}
    for d in declarations:
        ports[d.name] = _free_or_any("127.0.0.1", declared_port(d)) if declared_port(d) else 0
    return Simulators(
        secrets={**credentials, **secrets_by_name},
        ports=ports,
        seeded_orders=seeded_orders,
        host="127.0.0.1",
        declarations=declarations,
    )


def _demo_settings(
    settings: Settings,
    sims: Simulators,
    demo_key: str,
    credentials: dict[str, str],
    declarations: Sequence[Declaration] = (),
) -> Settings:
    """The gateway's settings in the demo: the simulators' URLs and keys, the demo client."""
    demo_client = _demo_client(demo_key, declarations)
    return settings.model_copy(
        update={
            "clients": [*(c for c in settings.clients if c.id != "demo"), demo_client],
            **{p.url_setting: sims.built_in[p.name].url for p in BUILT_IN},
            **{p.credential_setting: _secret(credentials[p.name]) for p in BUILT_IN},
        }
    )


def _demo_client(demo_key: str, declarations: Sequence[Declaration]) -> ClientConfig:
    """The demo client: every scope, the declared bolt-ons' ones too."""
    scopes = ALL_SCOPES | BoltOnFacts(tuple(declarations)).scopes
    return ClientConfig(id="demo", scopes=sorted(scopes), key_hashes=[hash_key(demo_key)])


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)
