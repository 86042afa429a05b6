"""``gateway demo`` announces a key with every scope, and the header JSON that works with it."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.support.demo import running_demo

QUERY = '{ product(sku: "SKU-00001") { sku unitCost } }'


async def test_demo_key_reads_everything(tmp_path: Path) -> None:
    async with running_demo(tmp_path, wait=15) as info:
        headers = json.loads(info["headers"])
        assert headers == {"Authorization": f"Bearer {info['api_key']}"}
        async with httpx.AsyncClient(timeout=10) as client:
            ok = await client.post(info["graphiql"], json={"query": QUERY}, headers=headers)
            anonymous = await client.post(info["graphiql"], json={"query": QUERY})
            page = await client.get(info["graphiql"], headers={"Accept": "text/html"})
    assert ok.json() == {"data": {"product": {"sku": "SKU-00001", "unitCost": "100.88"}}}
    assert anonymous.status_code == 401
    assert page.status_code == 200
