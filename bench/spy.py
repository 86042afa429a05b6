"""Where a served worker's time goes under load: py-spy on `gateway serve` while wrk drives it.

    .venv/bin/python -m bench.spy --query fanout --concurrency 32 [--core postgres]

Seeds a scale-1 core (SQLite, or a PostgreSQL schema of its own, dropped
after), starts the simulators (each in its own process, 5 ms per call),
serves the gateway with one worker as the benchmark does, warms it up, then
samples the worker with py-spy (non-blocking, 200 Hz) for ``--seconds``
while wrk sends the query at ``--concurrency``. Prints the share of the
event loop's samples by the innermost library on each stack and its busiest
functions; other threads are counted apart, idle ones not at all.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.harness import run_wrk
from bench.paired import QUERIES, simulator_processes
from bench.run import configure_sims, ours, seeded_core

#: (label, pattern of a frame) from the most specific to the least.
GROUPS = [
    ("httpx, httpcore, anyio, h11", r"\((httpx|httpcore|anyio|h11)/"),
    ("aiohttp, yarl, multidict", r"\((aiohttp|yarl|multidict|aiohappyeyeballs|propcache)/"),
    ("SQLAlchemy", r"\(sqlalchemy/"),
    ("sqlite3, aiosqlite", r"\((aiosqlite|sqlite3)/"),
    ("graphql-core", r"\(graphql/"),
    ("strawberry", r"\(strawberry/"),
    ("starlette, uvicorn", r"\((starlette|uvicorn)/"),
    ("our code", r"\((gateway|adapters|schema|resolvers)/"),
    ("asyncio", r"\(asyncio/"),
]
IDLE = re.compile(r"^_worker \(concurrent/futures/thread\.py:\d+\)$|^Thread\._bootstrap")


def summarise(raw: Path, top: int = 15) -> str:
    """Shares of the event loop's samples by innermost known library; the busiest functions.

    Samples of the core-read threads (``Thread._bootstrap`` at the root) are
    counted apart: they overlap the loop's, and much of their time is SQLite
    running without the interpreter lock or waiting to get it back.
    """
    groups = [(label, re.compile(pattern)) for label, pattern in GROUPS]
    by_group: collections.Counter[str] = collections.Counter()
    by_leaf: collections.Counter[str] = collections.Counter()
    by_thread_leaf: collections.Counter[str] = collections.Counter()
    loop_samples = thread_samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        frames = stack.split(";")
        if IDLE.search(frames[-1]):
            continue
        count = int(count_text)
        if frames[0].startswith("Thread._bootstrap"):
            thread_samples += count
            by_thread_leaf[frames[-1]] += count
            continue
        loop_samples += count
        by_leaf[frames[-1]] += count
        label = next(
            (name for frame in reversed(frames) for name, rx in groups if rx.search(frame)),
            "other",
        )
        by_group[label] += count
    total = max(1, loop_samples)
    lines = [
        f"event-loop thread: {loop_samples} samples; core-read threads: {thread_samples} "
        f"({100 * thread_samples / total:.0f} % of the loop's)"
    ]
    lines += [f"  {label:30} {100 * n / total:5.1f} %" for label, n in by_group.most_common()]
    lines.append("busiest functions of the loop (self):")
    lines += [f"  {100 * n / total:5.1f} %  {leaf}" for leaf, n in by_leaf.most_common(top)]
    lines.append("busiest functions of the core-read threads (self, % of the loop's samples):")
    lines += [
        f"  {100 * n / total:5.1f} %  {leaf}" for leaf, n in by_thread_leaf.most_common(top // 2)
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--query", choices=sorted(QUERIES), default="fanout")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--core", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "GATEWAY_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--cache", action="store_true", help="bolt-on cache on")
    parser.add_argument("--keep", type=Path, help="also keep py-spy's raw stacks in this file")
    args = parser.parse_args()
    py_spy = Path(sys.executable).with_name("py-spy")
    body = json.dumps({"query": QUERIES[args.query]})
    # The bolt-on cache alone: a whole-response cache would leave nothing to sample.
    no_response_cache = {
        "GATEWAY_RESPONSE_CACHE_ENABLED": "false",
        "GATEWAY_RESPONSE_CACHE_INCLUDE_CORE": "false",
    }
    with (
        tempfile.TemporaryDirectory() as tmp,
        simulator_processes() as sims,
        seeded_core(args.core, Path(tmp), args.postgres_url) as (core_url, _),
    ):
        configure_sims(sims, 0.005)
        work = Path(tmp)
        with ours(
            work, core_url, sims, workers=1, cache=args.cache, overrides=no_response_cache
        ) as (url, pid):
            run_wrk(url, [body], concurrency=args.concurrency, duration=2)
            raw = work / "spy.txt"
            spy = subprocess.Popen(  # noqa: S603 - a fixed tool with our own arguments
                [
                    *(str(py_spy), "record", "--nonblocking", "-r", "200", "-f", "raw"),
                    *("-d", str(args.seconds), "-o", str(raw), "-p", str(pid)),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            load = run_wrk(url, [body], concurrency=args.concurrency, duration=args.seconds)
            spy.wait()
            print(
                f"{args.query} at c={args.concurrency} ({args.core}): "
                f"{load.requests / load.seconds:.1f} req/s, "
                f"p50 {load.p50_ms:.1f} ms (sampled: slightly slower than unobserved)"
            )
            print(summarise(raw))
            if args.keep:
                args.keep.write_bytes(raw.read_bytes())


if __name__ == "__main__":
    main()
