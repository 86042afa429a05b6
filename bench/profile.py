"""Where a request's time goes: pyinstrument over in-process requests.

    .venv/bin/python -m bench.profile --query fanout -n 300 > bench/profile-fanout.txt

Serves the simulators in threads (no latency), builds the app in this
process, and sends ``n`` requests through ``httpx.ASGITransport`` under
pyinstrument, so the profile shows the gateway's own CPU time: parsing,
validation, execution, serialisation, the adapters and the cache.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import httpx
from pyinstrument import Profiler
from pyinstrument.renderers import ConsoleRenderer

from bench.run import FANOUT, LOOKUP, NESTED, gateway_env
from bench.sims import TOKENS

QUERIES = {"fanout": FANOUT, "nested": NESTED, "lookup": LOOKUP}


async def profile(query: str, n: int, *, cache: bool, core_url: str, sims: dict[str, str]) -> str:
    from gateway.app import create_app
    from gateway.settings import Settings

    # Read like `gateway serve` reads them: from the environment.
    os.environ.update(gateway_env(core_url, sims, cache=cache))
    settings = Settings()
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            for _ in range(20):  # warm-up: caches, pools
                answer = (await client.post("/graphql", json={"query": query})).json()
                assert not answer.get("errors"), answer["errors"]
            profiler = Profiler(interval=0.0005, async_mode="enabled")
            started = time.perf_counter()
            with profiler:
                for _ in range(n):
                    await client.post("/graphql", json={"query": query})
            elapsed = time.perf_counter() - started
    header = f"{n} requests in {elapsed:.2f} s: {elapsed / n * 1000:.2f} ms each (cache {cache})\n"
    flat = profiler.output(
        ConsoleRenderer(unicode=False, color=False, flat=True, time="percent_of_total")
    )
    tree = profiler.output_text(unicode=False, color=False, show_all=False)
    return (
        header
        + "\n--- by function (self time) ---\n"
        + "\n".join(flat.splitlines()[:45])
        + "\n--- call tree ---\n"
        + tree
    )


def main() -> None:
    from adapters.core import CoreAdapter
    from simulators.runner import Simulators
    from simulators.seed import seed

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--query", choices=sorted(QUERIES), default="fanout")
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument("--cache", action="store_true")
    args = parser.parse_args()

    async def seeded(url: str) -> None:
        async with CoreAdapter(url) as core:
            await core.create_schema()
            await seed(core, scale=1.0)

    with tempfile.TemporaryDirectory() as tmp:
        core_url = f"sqlite+aiosqlite:///{Path(tmp) / 'core.db'}"
        asyncio.run(seeded(core_url))
        with Simulators.start_in_thread(secrets=TOKENS, seeded_orders=20_000) as sims:
            urls = {"pricing": sims.pricing.url, "crm": sims.crm.url, "shipping": sims.shipping.url}
            print(
                asyncio.run(
                    profile(
                        QUERIES[args.query], args.n, cache=args.cache, core_url=core_url, sims=urls
                    )
                )
            )


if __name__ == "__main__":
    main()
