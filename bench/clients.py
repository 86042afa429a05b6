"""CPU per bolt-on call of each HTTP client option, measured against a real simulator.

    .venv/bin/python -m bench.clients                    # c = 1, 16, 64; every client
    .venv/bin/python -m bench.clients -c 16 --rounds 400 --client httpx --client adapter

Serves the Pricing simulator in a process of its own (no latency) and, in
this process, sends ``rounds`` rounds of ``c`` concurrent
``GET /v1/prices`` calls (20 SKUs, the fan-out's page) through each client,
the clients taking turns round by round so that drifting noise on the
shared machine hits them alike. It reports the CPU time of this process
(``time.process_time``) per call, the median over rounds. The event loop is
uvloop, as under ``gateway serve``.

Clients: ``httpx`` (httpx's own transport, httpcore), ``httpx-aiohttp``
(httpx over the ``httpx-aiohttp`` transport), ``aiohttp`` (a bare
``aiohttp.ClientSession``), and ``adapter`` (the project's ``PricingAdapter``:
whatever ``HttpBackend`` uses, plus its resilience, observers and parsing).
The optional ones are skipped when their package is not installed.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx

from bench.paired import simulator_processes
from bench.sims import TOKENS

SKUS = [f"SKU-{i:05d}" for i in range(1, 21)]
PARAMS: list[tuple[str, str]] = [("sku", sku) for sku in SKUS] + [("currency", "USD")]
HEADERS = {"Authorization": f"Bearer {TOKENS['pricing']}"}
POOL = 64

Call = Callable[[], Awaitable[Any]]


async def _httpx(stack: AsyncExitStack, url: str) -> Call:
    client = await stack.enter_async_context(
        httpx.AsyncClient(
            base_url=url,
            headers=HEADERS,
            limits=httpx.Limits(max_connections=POOL, max_keepalive_connections=POOL),
        )
    )

    async def call() -> Any:
        response = await client.get("/v1/prices", params=PARAMS)
        response.raise_for_status()
        return response.content

    return call


async def _httpx_aiohttp(stack: AsyncExitStack, url: str) -> Call | None:
    try:
        from httpx_aiohttp import AiohttpTransport
    except ImportError:
        return None
    limits = httpx.Limits(max_connections=POOL, max_keepalive_connections=POOL)
    client = await stack.enter_async_context(
        httpx.AsyncClient(base_url=url, headers=HEADERS, transport=AiohttpTransport(limits=limits))
    )

    async def call() -> Any:
        response = await client.get("/v1/prices", params=PARAMS)
        response.raise_for_status()
        return response.content

    return call


async def _aiohttp(stack: AsyncExitStack, url: str) -> Call | None:
    try:
        import aiohttp
    except ImportError:
        return None
    session = await stack.enter_async_context(
        aiohttp.ClientSession(
            base_url=url, headers=HEADERS, connector=aiohttp.TCPConnector(limit=POOL)
        )
    )

    async def call() -> Any:
        async with session.get("/v1/prices", params=PARAMS) as response:
            response.raise_for_status()
            return await response.read()

    return call


async def _adapter(stack: AsyncExitStack, url: str) -> Call:
    from adapters.pricing import PricingAdapter

    adapter = await stack.enter_async_context(
        PricingAdapter(url, token=TOKENS["pricing"], max_connections=POOL)
    )

    async def call() -> Any:
        return await adapter.prices(SKUS)

    return call


CLIENTS = {
    "httpx": _httpx,
    "httpx-aiohttp": _httpx_aiohttp,
    "aiohttp": _aiohttp,
    "adapter": _adapter,
}


async def measure(url: str, names: list[str], concurrency: int, rounds: int) -> dict[str, float]:
    """Median CPU ms per call of each client at ``concurrency``."""
    per_call: dict[str, list[float]] = {}
    async with AsyncExitStack() as stack:
        calls: dict[str, Call] = {}
        for name in names:
            call = await CLIENTS[name](stack, url)
            if call is not None:
                calls[name] = call
        for call in calls.values():  # warm-up: open the pool's connections
            for _ in range(5):
                await asyncio.gather(*(call() for _ in range(concurrency)))
        per_call = {name: [] for name in calls}
        order = list(calls)
        for index in range(rounds):
            # Rotate who goes first, so no client always follows the same one.
            shift = index % len(order)
            for name in order[shift:] + order[:shift]:
                started = time.process_time()
                await asyncio.gather(*(calls[name]() for _ in range(concurrency)))
                per_call[name].append((time.process_time() - started) / concurrency)
    return {name: statistics.median(times) * 1000 for name, times in per_call.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-c", "--concurrency", type=int, action="append")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--client", action="append", choices=sorted(CLIENTS))
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    args = parser.parse_args()
    levels = args.concurrency or [1, 16, 64]
    names = args.client or list(CLIENTS)
    if args.loop == "uvloop":
        import uvloop

        runner: Callable[[Any], Any] = uvloop.run
    else:
        runner = asyncio.run
    with simulator_processes() as urls:
        url = urls["pricing"]
        print(f"CPU ms per call (median of {args.rounds} rounds, {args.loop})")
        print(f"{'client':<15}" + "".join(f"{f'c={c}':>10}" for c in levels))
        results = {c: runner(measure(url, names, c, args.rounds)) for c in levels}
        for name in names:
            if name in results[levels[0]]:
                cells = "".join(f"{results[c][name]:>10.3f}" for c in levels)
                print(f"{name:<15}{cells}")


if __name__ == "__main__":
    main()
