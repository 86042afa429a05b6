"""``gateway demo`` run in the test's own loop, until the block ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from gateway.cli.demo import prepare_core, run_demo
from gateway.settings import Settings


@asynccontextmanager
async def running_demo(
    folder: Path, *, wait: float = 30, **settings: Any
) -> AsyncIterator[dict[str, Any]]:
    """The demo on a core seeded in ``folder`` (its ``demo.env`` there too): what it
    announced once everything listens (``graphiql``, ``api_key``, ``env_file``, ...)."""
    config = Settings(
        core_database_url=f"sqlite+aiosqlite:///{folder / 'core.db'}", port=0, **settings
    )
    seeded = await prepare_core(config, scale=0.01)
    announced: list[dict[str, Any]] = []
    ready = asyncio.Event()
    stop = asyncio.Event()

    def started(info: dict[str, Any]) -> None:
        announced.append(info)
        ready.set()

    demo = asyncio.create_task(
        run_demo(config, seeded_orders=seeded, started=started, stop=stop, env_folder=folder)
    )
    try:
        await asyncio.wait_for(ready.wait(), wait)
        yield announced[0]
    finally:
        stop.set()
        await demo
