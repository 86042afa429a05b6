"""``gateway demo``: the embedded core, the three simulators and the gateway in one process.

Seeds the SQLite core on first run, serves the simulators on their contract
ports (8101-8103, or free ones when those are taken) with the configured
credentials (fresh random ones where none are set), and the gateway on its
port, all in one event loop. While it runs, ``demo.env`` in the data folder
holds the ``export`` lines another shell needs for ``gateway check`` (or a
``gateway serve`` of its own) against the same core and simulators.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shlex
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from adapters.core import CoreAdapter
from gateway.app import create_app
from gateway.security.clients import ALL_SCOPES, ClientConfig, hash_key, new_key
from gateway.settings import Settings, data_dir
from simulators.runner import Simulators, bind_socket, serve_together, url_of
from simulators.seed import seed

CONTRACT_PORTS = {"pricing": 8101, "crm": 8102, "shipping": 8103}


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


CREDENTIALS = ("pricing_token", "crm_api_key", "shipping_token")


def _credentials(settings: Settings) -> dict[str, str]:
    """The configured bolt-on credentials; a random one for each that is not set."""
    credentials: dict[str, str] = {}
    for name in CREDENTIALS:
        value = getattr(settings, name)
        credentials[name] = (
            value.get_secret_value() if value is not None else secrets.token_urlsafe(16)
        )
    return credentials


def environment_lines(settings: Settings) -> list[str]:
    """``export`` lines that point another gateway command at this demo's backends."""
    values = {
        "GATEWAY_CORE_DATABASE_URL": settings.core_database_url,
        "GATEWAY_PRICING_URL": settings.pricing_url,
        "GATEWAY_CRM_URL": settings.crm_url,
        "GATEWAY_SHIPPING_URL": settings.shipping_url,
    }
    for name in CREDENTIALS:
        secret = getattr(settings, name)
        values[f"GATEWAY_{name.upper()}"] = secret.get_secret_value() if secret else ""
    return [f"export {key}={shlex.quote(value)}" for key, value in values.items()]


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
) -> None:
    """Serve the whole demo until ``stop`` is set or the process gets SIGINT/SIGTERM.

    Args:
        gateway_sock: the gateway's listening socket (bound on ``settings``' host
            and port when not given).
        env_folder: where ``demo.env`` goes (default: the data folder).
    """
    credentials = _credentials(settings)
    sims = Simulators(
        pricing_token=credentials["pricing_token"],
        crm_api_key=credentials["crm_api_key"],
        shipping_token=credentials["shipping_token"],
        seeded_orders=seeded_orders,
        host="127.0.0.1",
        pricing_port=_free_or_any("127.0.0.1", CONTRACT_PORTS["pricing"]),
        crm_port=_free_or_any("127.0.0.1", CONTRACT_PORTS["crm"]),
        shipping_port=_free_or_any("127.0.0.1", CONTRACT_PORTS["shipping"]),
    )
    # A demo client with every scope; its key is printed at start and lives as long as the demo.
    demo_key = new_key()
    gateway_settings = _demo_settings(settings, sims, demo_key, credentials)
    sock = gateway_sock if gateway_sock is not None else bind_socket(settings.host, settings.port)
    app = create_app(gateway_settings)
    ready = asyncio.Event()
    lines = environment_lines(gateway_settings)

    with environment_file(lines, env_folder) as env_file:

        async def announce() -> None:
            await ready.wait()
            info = {
                "graphiql": f"{url_of(sock)}/graphql",
                "pricing": sims.pricing.url,
                "crm": sims.crm.url,
                "shipping": sims.shipping.url,
                "api_key": demo_key,
                "headers": json.dumps({"Authorization": f"Bearer {demo_key}"}),
                "env_file": str(env_file),
                "env_lines": lines,
            }
            if started is not None:
                started(info)

        announcer = asyncio.create_task(announce())
        try:
            await serve_together(
                [*sims.bindings(), (app, sock)], stop=stop, started=ready, log_level="warning"
            )
        finally:
            announcer.cancel()


def _demo_settings(
    settings: Settings, sims: Simulators, demo_key: str, credentials: dict[str, str]
) -> Settings:
    """The gateway's settings in the demo: the simulators' URLs and keys, the demo client."""
    demo_client = ClientConfig(
        id="demo", scopes=sorted(ALL_SCOPES), key_hashes=[hash_key(demo_key)]
    )
    return settings.model_copy(
        update={
            "clients": [*(c for c in settings.clients if c.id != "demo"), demo_client],
            "pricing_url": sims.pricing.url,
            "crm_url": sims.crm.url,
            "shipping_url": sims.shipping.url,
            **{key: _secret(value) for key, value in credentials.items()},
        }
    )


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)
