"""The read/write mix served alone: one ``placeOrder`` in ten requests, p50 / p99 per round.

    .venv/bin/python -m bench.mix                              # SQLite core, as configured
    .venv/bin/python -m bench.mix --set GATEWAY_CORE_SQLITE_INLINE=false
    .venv/bin/python -m bench.mix --core postgres   # a schema of its own, dropped after

The same mix as ``bench.run`` (nine fan-outs, then a ``placeOrder`` of a
seeded DRAFT order; caches off), served by ``gateway serve`` with one worker
over the simulators (5 ms per call), at concurrency 8 for ``--seconds`` per
round. A quicker way than the whole benchmark to compare write-path changes:
run it once per variant (``--set`` adds environment settings).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from bench.harness import run_wrk
from bench.paired import simulator_processes
from bench.run import (
    FANOUT,
    PLACE_ORDER,
    body,
    configure_sims,
    ours,
    seeded_core,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--core", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "GATEWAY_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--set", action="append", default=[], help="NAME=value for the gateway")
    args = parser.parse_args()
    overrides = dict(pair.split("=", 1) for pair in args.set)
    with (
        tempfile.TemporaryDirectory() as tmp,
        simulator_processes() as sims,
        seeded_core(args.core, Path(tmp), args.postgres_url) as (core_url, drafts),
    ):
        configure_sims(sims, 0.005)
        work = Path(tmp)
        with ours(work, core_url, sims, workers=1, cache=False, overrides=overrides) as (url, _):
            run_wrk(url, [body(FANOUT)], concurrency=8, duration=2)
            per_round = len(drafts) // max(1, args.rounds)
            for round_ in range(args.rounds):
                mix: list[str] = []
                for number in drafts[round_ * per_round : (round_ + 1) * per_round]:
                    mix.extend([body(FANOUT)] * 9)
                    mix.append(body(PLACE_ORDER, {"n": number}))
                load = run_wrk(url, mix, concurrency=8, duration=args.seconds)
                print(
                    f"mix round {round_ + 1}: {load.requests / load.seconds:.1f} req/s, "
                    f"p50 {load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} ms"
                )


if __name__ == "__main__":
    main()
