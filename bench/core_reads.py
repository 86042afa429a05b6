"""CPU of the fan-out's three core reads on PostgreSQL: through CoreAdapter, and on asyncpg alone.

    .venv/bin/python -m bench.core_reads [--concurrency 32] [--rounds 60]

Seeds a scale-1 core in a PostgreSQL schema of its own (dropped after), then
runs, in this one process, the reads one uncached fan-out request makes of the
core (a page of 20 products, one customer by account number, a page of 10
shipped orders), ``--concurrency`` requests at a time, first through
``CoreAdapter`` (its ``ServerReads``, as the gateway serves them),
then as the same three statements sent with asyncpg's pool and nothing else.
Prints the process's CPU per request of each. The second is a floor, not a
replacement: it builds no records and handles no errors.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from adapters.core.adapter import CoreAdapter
from bench.run import seeded_core

PRODUCTS = "SELECT id, sku, name, category, unit_cost, active FROM products ORDER BY id LIMIT $1"
CUSTOMER = "SELECT * FROM customers WHERE account_number = ANY($1::varchar[])"
ORDERS = "SELECT * FROM orders WHERE status = $1 ORDER BY id LIMIT $2"


async def cpu_per_request(
    request: Callable[[], Awaitable[object]], concurrency: int, rounds: int
) -> float:
    """Milliseconds of this process's CPU per ``request``, ``concurrency`` at a time."""
    for _ in range(rounds // 2):  # warm-up: pools filled, statements prepared
        await asyncio.gather(*(request() for _ in range(concurrency)))
    started = time.process_time()
    for _ in range(rounds):
        await asyncio.gather(*(request() for _ in range(concurrency)))
    return 1000 * (time.process_time() - started) / (rounds * concurrency)


async def measure(url: str, concurrency: int, rounds: int) -> dict[str, float]:
    """CPU per request of the three reads, through the adapter and on asyncpg alone."""
    figures: dict[str, float] = {}
    async with CoreAdapter(url) as core:

        async def through_adapter() -> object:
            return await asyncio.gather(
                core.list_products(first=20, after=None),
                core.customers_by_account(["C-000042"]),
                core.list_orders(first=10, after=None, status="shipped"),
            )

        figures["CoreAdapter"] = await cpu_per_request(through_adapter, concurrency, rounds)
    parsed = make_url(url)
    search_path = str(parsed.query["options"]).removeprefix("-csearch_path=")
    pool = await asyncpg.create_pool(
        parsed.set(drivername="postgresql", query={}).render_as_string(hide_password=False),
        # CoreAdapter's reads pool: pool_size (10 by default), no overflow.
        min_size=10,
        max_size=10,
        server_settings={"search_path": search_path},
    )
    try:

        async def asyncpg_alone() -> object:
            return await asyncio.gather(
                pool.fetch(PRODUCTS, 21),
                pool.fetch(CUSTOMER, ["C-000042"]),
                pool.fetch(ORDERS, "shipped", 11),
            )

        figures["asyncpg alone"] = await cpu_per_request(asyncpg_alone, concurrency, rounds)
    finally:
        await pool.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument(
        "--postgres-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    )
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as work,
        seeded_core("postgres", Path(work), args.postgres_url) as (url, _),
    ):
        figures = asyncio.run(measure(url, args.concurrency, args.rounds))
    for label, ms in figures.items():
        print(f"{label:28} {ms:6.3f} ms CPU per request (3 reads, c={args.concurrency})")


if __name__ == "__main__":
    main()
