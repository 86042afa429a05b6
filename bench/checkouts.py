"""A/B of two checkouts, served: each one's ``gateway serve`` in turn on one core and simulators.

    .venv/bin/python -m bench.checkouts --a /tmp/before --b . --cache
    .venv/bin/python -m bench.checkouts --a /tmp/before --b . --query nested --rounds 5
    .venv/bin/python -m bench.checkouts --a /tmp/before --b . --core postgres

Each checkout needs its own ``.venv`` (``python3 -m venv .venv &&
.venv/bin/pip install -e ".[bench]"``): its ``gateway`` command is what is
served. One scale-1 core (SQLite, or a PostgreSQL schema of its own with
``--core postgres``) and one set of simulators (5 ms per call) serve
both; the checkouts take turns, ``--rounds`` times, each point measured as
``bench.run`` measures it (wrk, CPU of the worker per request). Use it when
a change is in the served path (the HTTP protocol, middleware) that
``bench.paired``, which builds both apps in one process, cannot compare.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

from bench.harness import wait_http
from bench.run import (
    FANOUT,
    NESTED,
    Point,
    body,
    free_port,
    gateway_env,
    measure,
    process,
    seeded_core,
    simulators,
)

QUERIES = {"fanout": FANOUT, "nested": NESTED}


def run(args: argparse.Namespace) -> dict[tuple[str, int], list[Point]]:
    checkouts = {"a": args.a.resolve(), "b": args.b.resolve()}
    points: dict[tuple[str, int], list[Point]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with (
            seeded_core(args.core, work, args.postgres_url) as (core, _),
            simulators(work, 0.005) as sims,
        ):
            for _ in range(args.rounds):
                for name, checkout in checkouts.items():
                    port = free_port()
                    env = gateway_env(core, sims, cache=args.cache)
                    env.pop("PYTHONPATH", None)
                    command = [str(checkout / ".venv" / "bin" / "gateway"), "serve"]
                    command += ["--port", str(port), "--workers", "1"]
                    with process(command, env=env, cwd=checkout, log=work / f"{name}.log") as proc:
                        wait_http(f"http://127.0.0.1:{port}/healthz", process=proc)
                        for concurrency in args.concurrency:
                            point = measure(
                                gateway=name,
                                operation=args.query,
                                core=args.core,
                                url=f"http://127.0.0.1:{port}/graphql",
                                pid=proc.pid,
                                bodies=[body(QUERIES[args.query])],
                                sims=sims,
                                workers=1,
                                cache=args.cache,
                                concurrency=concurrency,
                                duration=args.duration,
                            )
                            points.setdefault((name, concurrency), []).append(point)
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", type=Path, required=True, help="the first checkout")
    parser.add_argument("--b", type=Path, required=True, help="the second checkout")
    parser.add_argument("--query", choices=sorted(QUERIES), default="fanout")
    parser.add_argument("--cache", action="store_true", help="bolt-on and response caches on")
    parser.add_argument("--core", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "GATEWAY_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per point")
    points = run(parser.parse_args())
    for concurrency in sorted({c for _, c in points}):
        a = statistics.median(p.rps for p in points[("a", concurrency)])
        b = statistics.median(p.rps for p in points[("b", concurrency)])
        cpu_a = statistics.median(p.cpu_s_per_1k for p in points[("a", concurrency)])
        cpu_b = statistics.median(p.cpu_s_per_1k for p in points[("b", concurrency)])
        print(
            f"c={concurrency}: b/a requests/s {b / a:.2f}x ({b:.0f} vs {a:.0f}); "
            f"CPU per 1k {cpu_b:.3f} vs {cpu_a:.3f} s ({cpu_b / cpu_a:.2f}x)"
        )


if __name__ == "__main__":
    main()
