"""``gateway demo`` announces a key with every scope, and the header JSON that works with it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from gateway.cli.demo import prepare_core, run_demo
from gateway.settings import Settings

QUERY = '{ product(sku: "SKU-00001") { sku unitCost } }'


async def test_demo_key_reads_everything(tmp_path: Path) -> None:
    settings = Settings(core_database_url=f"sqlite+aiosqlite:///{tmp_path / 'core.db'}", port=0)
    seeded = await prepare_core(settings, scale=0.01)
    announced: list[dict[str, Any]] = []
    ready = asyncio.Event()
    stop = asyncio.Event()

    def started(info: dict[str, Any]) -> None:
        announced.append(info)
        ready.set()

    demo = asyncio.create_task(
        run_demo(settings, seeded_orders=seeded, started=started, stop=stop, env_folder=tmp_path)
    )
    try:
        await asyncio.wait_for(ready.wait(), 15)
        info = announced[0]
        headers = json.loads(info["headers"])
        assert headers == {"Authorization": f"Bearer {info['api_key']}"}
        async with httpx.AsyncClient(timeout=10) as client:
            ok = await client.post(info["graphiql"], json={"query": QUERY}, headers=headers)
            anonymous = await client.post(info["graphiql"], json={"query": QUERY})
            page = await client.get(info["graphiql"], headers={"Accept": "text/html"})
    finally:
        stop.set()
        await demo
    assert ok.json() == {"data": {"product": {"sku": "SKU-00001", "unitCost": "100.88"}}}
    assert anonymous.status_code == 401
    assert page.status_code == 200
