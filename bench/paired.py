"""Paired A/B of two gateway configurations: requests alternate, CPU per request compared.

    .venv/bin/python -m bench.paired --query nested --b gc_tuning=false
    .venv/bin/python -m bench.paired --query fanout --cache --b core_pool_size=2
    .venv/bin/python -m bench.paired --query fanout --httpx A   # httpx (A) vs aiohttp (B)

Builds two apps in this process from the same settings, the second with the
``--b`` overrides (setting names, as in docs/configuration.md), over the
same seeded core and the same simulators (each in its own process, no
latency). It then sends ``n`` pairs of identical requests, alternating which
app goes first, and reports the median CPU time per request of each and
their ratio. Noise that drifts over the run (another tenant on the machine)
hits both sides alike, but not all of it: A/A runs (no ``--b``) gave ratios
from 0.998 to 1.066, so a difference under ~5 % is not a finding. Settings
with a process-wide effect (``gc_tuning``: the collector is one per process)
cannot be compared this way; compare whole runs instead. ``--httpx A`` (or
``B``) sends that app's bolt-on calls through httpx's own transport instead
of the adapters' aiohttp client (the HTTP client before the switch).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.run import FANOUT, LOOKUP, NESTED, gateway_env, seed_core

QUERIES = {"fanout": FANOUT, "nested": NESTED, "lookup": LOOKUP}


@contextmanager
def simulator_processes() -> Iterator[dict[str, str]]:
    """The three simulators, each in its own process; their URLs."""
    processes: list[subprocess.Popen[str]] = []
    urls: dict[str, str] = {}
    try:
        for service in ("pricing", "crm", "shipping"):
            process = subprocess.Popen(  # noqa: S603 - our own module
                [sys.executable, "-m", "bench.sims", service], stdout=subprocess.PIPE, text=True
            )
            processes.append(process)
            assert process.stdout is not None
            urls[service] = process.stdout.readline().strip()
        yield urls
    finally:
        for process in processes:
            process.terminate()
            process.wait()


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--b {pair!r}: expected name=value")
        overrides[name.strip()] = value
    return overrides


def _over_httpx(backends: Any) -> Any:
    """The bolt-on adapters of ``backends`` sent through httpx's own transport (pool as set)."""
    for adapter in (backends.pricing, backends.crm, backends.shipping):
        pool = adapter._max_connections
        adapter._transport = httpx.AsyncHTTPTransport(
            limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
        )
    return backends


async def compare(
    query: str,
    pairs: int,
    overrides: dict[str, Any],
    cache: bool,
    httpx_side: str | None = None,
    concurrency: int = 1,
) -> str:
    from gateway.app import create_app
    from gateway.backends import Backends
    from gateway.settings import Settings

    base = Settings()
    variant = Settings(**{**base.model_dump(exclude={"config"}), **overrides})
    apps = {}
    for name, settings in (("A", base), ("B", variant)):
        backends = Backends.from_settings(settings)
        if name == httpx_side:
            _over_httpx(backends)
        apps[name] = create_app(settings, backends=backends)
    cpu: dict[str, list[float]] = {"A": [], "B": []}
    async with AsyncExitStack() as stack:
        clients = {}
        for name, app in apps.items():
            await stack.enter_async_context(app.router.lifespan_context(app))
            clients[name] = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")
            )
        for client in clients.values():  # warm-up: pools, parse and validation caches
            for _ in range(30):
                answer = (await client.post("/graphql", json={"query": query})).json()
                assert not answer.get("errors"), answer["errors"]
        for index in range(pairs):
            for name in ("A", "B") if index % 2 else ("B", "A"):
                started = time.process_time()
                await asyncio.gather(
                    *(
                        clients[name].post("/graphql", json={"query": query})
                        for _ in range(concurrency)
                    )
                )
                cpu[name].append((time.process_time() - started) / concurrency)
    median = {name: statistics.median(times) * 1000 for name, times in cpu.items()}
    return (
        f"A (settings as given): {median['A']:.3f} ms CPU per request (median of {pairs})\n"
        f"B ({', '.join(f'{k}={v}' for k, v in overrides.items()) or 'the same'}): "
        f"{median['B']:.3f} ms\n"
        f"B/A: {median['B'] / median['A']:.3f} (c={concurrency}, "
        f"bolt-on cache {'on' if cache else 'off'}"
        f"{f', {httpx_side} over httpx' if httpx_side else ''})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--query", choices=sorted(QUERIES), default="fanout")
    parser.add_argument("-n", type=int, default=300, help="pairs of requests")
    parser.add_argument("--b", action="append", default=[], metavar="SETTING=VALUE")
    parser.add_argument("--cache", action="store_true", help="bolt-on cache on for both")
    parser.add_argument(
        "--httpx", choices=["A", "B"], help="send this app's bolt-on calls through httpx"
    )
    parser.add_argument("-c", "--concurrency", type=int, default=1, help="requests in flight")
    args = parser.parse_args()
    overrides = parse_overrides(args.b)
    with tempfile.TemporaryDirectory() as tmp, simulator_processes() as sims:
        core_url = f"sqlite+aiosqlite:///{Path(tmp) / 'core.db'}"
        asyncio.run(seed_core(core_url))
        # Read like `gateway serve` reads them: from the environment.
        os.environ.update(gateway_env(core_url, sims, cache=args.cache))
        os.environ["GATEWAY_RESPONSE_CACHE_ENABLED"] = "false"  # a hit would run nothing
        print(
            asyncio.run(
                compare(
                    QUERIES[args.query],
                    args.n,
                    overrides,
                    args.cache,
                    args.httpx,
                    args.concurrency,
                )
            )
        )


if __name__ == "__main__":
    main()
