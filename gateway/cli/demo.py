"""``gateway demo``: the embedded core, the three simulators and the gateway in one process.

Seeds the SQLite core on first run, serves the simulators on their contract
ports (8101-8103, or free ones when those are taken) with fresh random
credentials, and the gateway on its port, all in one event loop.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
from collections.abc import Callable
from typing import Any

from adapters.core import CoreAdapter
from gateway.app import create_app
from gateway.security.clients import ALL_SCOPES, ClientConfig, hash_key, new_key
from gateway.settings import Settings
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


async def run_demo(
    settings: Settings,
    *,
    seeded_orders: int,
    started: Callable[[dict[str, Any]], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve the whole demo until ``stop`` is set or the process gets SIGINT/SIGTERM."""
    credentials = {
        "pricing_token": secrets.token_urlsafe(16),
        "crm_api_key": secrets.token_urlsafe(16),
        "shipping_token": secrets.token_urlsafe(16),
    }
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
    gateway_sock = bind_socket(settings.host, settings.port)
    app = create_app(gateway_settings)
    ready = asyncio.Event()

    async def announce() -> None:
        await ready.wait()
        info = {
            "graphiql": f"{url_of(gateway_sock)}/graphql",
            "pricing": sims.pricing.url,
            "crm": sims.crm.url,
            "shipping": sims.shipping.url,
            "api_key": demo_key,
            "headers": json.dumps({"Authorization": f"Bearer {demo_key}"}),
        }
        if started is not None:
            started(info)

    announcer = asyncio.create_task(announce())
    try:
        await serve_together(
            [*sims.bindings(), (app, gateway_sock)], stop=stop, started=ready, log_level="warning"
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
