"""The benchmark: this gateway against Hive Gateway over the same simulators.

One command (see README, "Benchmark")::

    .venv/bin/python -m bench.run            # full run, ~8 minutes, writes bench/RESULTS.md
    .venv/bin/python -m bench.run --quick    # a two-minute smoke run, writes nothing

What it does:

1. seeds a core (scale 1): embedded SQLite in a temporary directory, and
   PostgreSQL (the production set-up) in a fresh schema of
   ``--postgres-url``; each core gets its own pass below;
2. starts the three simulators, each in its own process, with a fixed latency
   per call (5 ms by default);
3. for each of 1 and 2 worker processes and each of cache off and on, starts
   this gateway (``gateway serve``) and Hive Gateway (``hive-gateway
   supergraph``, composed from the same OpenAPI contracts, pointed at the
   same simulators with the same credentials, response cache off or on);
4. drives each operation with ``wrk`` at fixed concurrency levels, the two
   gateways alternating point by point; reads requests/s and latency
   percentiles from wrk, backend calls from the simulators' ``/_sim/stats``,
   CPU seconds and peak RSS of the server processes from psutil;
5. measures the nested query's critical-path floor at concurrency 1;
6. writes ``bench/RESULTS.md`` and ``bench/results.png`` (and
   ``bench/results.json``, the raw figures).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.harness import BenchError, ProcessSampler, WrkResult, run_wrk, wait_http
from bench.sims import TOKENS

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / ".work"
PYTHON = sys.executable

LOOKUP = '{ customer(accountNumber: "C-000042") { accountNumber name email segment creditLimit } }'
NESTED = (
    "{ customers(first: 5) { edges { node { accountNumber name insights { healthScore } "
    "orders(first: 3) { edges { node { orderNumber total shipment { carrier status } "
    "lines { quantity product { sku price { listPrice marginPct } } } } } } } } } }"
)
#: Prices of 20 SKUs, insights of one account, shipments of 10 orders.
FANOUT = (
    "{ products(first: 20) { edges { node { sku price { listPrice floorPrice currency } } } } "
    'customer(accountNumber: "C-000042") { insights { healthScore churnRisk } } '
    "orders(first: 10, filter: {status: SHIPPED}) { edges { node { orderNumber "
    "shipment { carrier status } } } } }"
)
PLACE_ORDER = (
    'mutation($n: String!) { placeOrder(input: {orderNumber: $n, warehouseCode: "WH-US1"}) '
    "{ order { status } userErrors { code } } }"
)
#: Bolt-on calls the contracts allow at least, per operation, with nothing cached.
CONTRACT_MINIMUM = {"lookup": 0, "nested": 7, "fanout": 3, "mix": None}


@dataclass
class Point:
    """One measured point."""

    gateway: str
    operation: str
    core: str
    workers: int
    cache: bool
    concurrency: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    requests: int
    failed: int
    backend_calls_per_op: float
    cpu_s_per_1k: float
    peak_rss_mb: float


# --- processes -----------------------------------------------------------------


@contextlib.contextmanager
def process(
    command: list[str],
    *,
    env: dict[str, str],
    cwd: Path | None = None,
    log: Path,
    capture: bool = False,
) -> Iterator[subprocess.Popen[str]]:
    """Run a server for the ``with`` block; SIGTERM (then SIGKILL) its whole group after."""
    with log.open("w") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own fixed commands
            command,
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE if capture else out,
            stderr=out,
            text=True,
            start_new_session=True,
        )
        try:
            yield proc
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@contextlib.contextmanager
def simulators(work: Path, latency: float) -> Iterator[dict[str, str]]:
    urls: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        for service in ("pricing", "crm", "shipping"):
            proc = stack.enter_context(
                process(
                    [PYTHON, "-m", "bench.sims", service],
                    env={**os.environ, "PYTHONPATH": str(REPO)},
                    cwd=REPO,
                    log=work / f"sim-{service}.log",
                    capture=True,
                )
            )
            assert proc.stdout is not None
            urls[service] = proc.stdout.readline().strip()
        for url in urls.values():
            wait_http(f"{url}/_sim/stats")
        configure_sims(urls, latency)
        yield urls


def configure_sims(urls: dict[str, str], latency: float) -> None:
    for url in urls.values():
        httpx.post(f"{url}/_sim/reset").raise_for_status()
        httpx.post(f"{url}/_sim/config", json={"latency": latency}).raise_for_status()


def sim_calls(urls: dict[str, str]) -> int:
    return sum(int(httpx.get(f"{u}/_sim/stats").json()["total"]) for u in urls.values())


def settled_calls(sims: dict[str, str], *, quiet: float = 0.3, limit: float = 10.0) -> int:
    """The simulators' call count once it has not moved for ``quiet`` seconds."""
    deadline = time.monotonic() + limit
    count = sim_calls(sims)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = sim_calls(sims)
        if now == count:
            break
        count = now
    return count


def gateway_env(core_url: str, sims: dict[str, str], *, cache: bool) -> dict[str, str]:
    scopes = ["core:read", "insights:read", "margins:read", "orders:write", "customers:write"]
    return {
        **os.environ,
        "GATEWAY_ENV": "development",
        "GATEWAY_CORE_DATABASE_URL": core_url,
        "GATEWAY_PRICING_URL": sims["pricing"],
        "GATEWAY_PRICING_TOKEN": TOKENS["pricing"],
        "GATEWAY_CRM_URL": sims["crm"],
        "GATEWAY_CRM_API_KEY": TOKENS["crm"],
        "GATEWAY_SHIPPING_URL": sims["shipping"],
        "GATEWAY_SHIPPING_TOKEN": TOKENS["shipping"],
        "GATEWAY_CACHE_ENABLED": "true" if cache else "false",
        # "Caches on" is the bolt-on cache and the whole-response cache, like the peer's
        # response cache: every response for 5 s (so also what the query read of the core).
        "GATEWAY_RESPONSE_CACHE_ENABLED": "true" if cache else "false",
        "GATEWAY_RESPONSE_CACHE_INCLUDE_CORE": "true" if cache else "false",
        "GATEWAY_ANONYMOUS_SCOPES": json.dumps(scopes),
        "GATEWAY_RATE_LIMIT_ENABLED": "false",
        "GATEWAY_ACCESS_LOG": "false",
        "GATEWAY_LOG_LEVEL": "warning",
        "GATEWAY_MAX_QUERY_COST": "1000000",
    }


def free_port() -> int:
    from simulators.runner import bind_socket

    sock = bind_socket("127.0.0.1", 0)
    port: int = sock.getsockname()[1]
    sock.close()
    return port


@contextlib.contextmanager
def ours(
    work: Path,
    core_url: str,
    sims: dict[str, str],
    *,
    workers: int,
    cache: bool,
    overrides: dict[str, str] | None = None,
) -> Iterator[tuple[str, int]]:
    """``gateway serve`` over the core and the simulators: its /graphql URL and pid."""
    port = free_port()
    gateway = str(Path(PYTHON).with_name("gateway"))
    command = [gateway, "serve", "--port", str(port), "--workers", str(workers)]
    env = {**gateway_env(core_url, sims, cache=cache), **(overrides or {})}
    with process(command, env=env, cwd=work, log=work / "ours.log") as proc:
        wait_http(f"http://127.0.0.1:{port}/healthz", process=proc)
        yield f"http://127.0.0.1:{port}/graphql", proc.pid


def compose_peer(work: Path, sims: dict[str, str]) -> Path:
    peer = work / "peer"
    peer.mkdir(exist_ok=True)
    shutil.copy(HERE / "peer" / "mesh.config.ts", peer / "mesh.config.ts")
    shutil.copy(HERE / "peer" / "gateway.config.ts", peer / "gateway.config.ts")
    contracts = HERE / "contracts"
    env = {
        **os.environ,
        "BENCH_CONTRACTS_DIR": str(contracts),
        "PRICING_URL": sims["pricing"],
        "CRM_URL": sims["crm"],
        "SHIPPING_URL": sims["shipping"],
    }
    done = subprocess.run(  # noqa: S603
        [str(WORK / "node_modules" / ".bin" / "mesh-compose"), "-o", "supergraph.graphql"],
        cwd=peer,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if done.returncode != 0:
        raise BenchError(f"mesh-compose failed: {done.stderr[-2000:]}")
    return peer


@contextlib.contextmanager
def hive(peer: Path, *, workers: int, cache: bool) -> Iterator[tuple[str, int]]:
    port = free_port()
    command = [
        str(WORK / "node_modules" / ".bin" / "hive-gateway"),
        "supergraph",
        "supergraph.graphql",
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
        "--fork",
        str(workers),
        "-c",
        "gateway.config.ts",
    ]
    env = {
        **os.environ,
        "NODE_ENV": "production",
        "PRICING_TOKEN": TOKENS["pricing"],
        "CRM_API_KEY": TOKENS["crm"],
        "SHIPPING_TOKEN": TOKENS["shipping"],
        "BENCH_RESPONSE_CACHE": "1" if cache else "0",
    }
    with process(command, env=env, cwd=peer, log=peer.parent / "hive.log") as proc:
        wait_http(f"http://127.0.0.1:{port}/healthcheck", process=proc)
        yield f"http://127.0.0.1:{port}/graphql", proc.pid


def install_peer() -> None:
    """``npm ci`` of the pinned peer gateway into bench/.work (never committed)."""
    WORK.mkdir(exist_ok=True)
    if (WORK / "node_modules" / ".bin" / "hive-gateway").exists():
        return
    for name in ("package.json", "package-lock.json"):
        shutil.copy(HERE / name, WORK / name)
    npm = shutil.which("npm")
    if npm is None:
        raise BenchError("npm is not installed (the peer gateway is an npm package)")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=WORK, check=True)  # noqa: S603


# --- the core ------------------------------------------------------------------


async def seed_core(url: str) -> list[str]:
    """Seed scale 1; return the DRAFT order numbers (for placeOrder in the mix)."""
    from adapters.core import CoreAdapter
    from simulators import world
    from simulators.seed import seed

    async with CoreAdapter(url) as core:
        await core.create_schema()
        summary = await seed(core, scale=1.0)
    orders = getattr(summary, "orders", 20_000)
    total = orders if isinstance(orders, int) else 20_000
    return [
        world.order_number(i)
        for i in range(1, total + 1)
        if world.seeded_order_status(world.order_number(i)) == "draft"
    ]


async def core_floor_ms(url: str) -> dict[str, float]:
    """Median time of each core statement of the nested query, in ms."""
    from adapters.core import CoreAdapter

    timings: dict[str, list[float]] = {"customers": [], "orders": [], "lines": [], "products": []}
    async with CoreAdapter(url) as core:
        for _ in range(30):
            started = time.perf_counter()
            page = await core.list_customers(first=5, after=None, segment=None, name_contains=None)
            timings["customers"].append(time.perf_counter() - started)
            keys = [(c.id, 3, None, None) for c in page.items]
            started = time.perf_counter()
            pages = await core.orders_of_customers(keys)
            timings["orders"].append(time.perf_counter() - started)
            order_ids = [o.id for p in pages for o in p.items]
            started = time.perf_counter()
            lines = await core.lines_of_orders(order_ids)
            timings["lines"].append(time.perf_counter() - started)
            product_ids = list({line.product_id for group in lines for line in group})
            started = time.perf_counter()
            await core.products_by_id(product_ids)
            timings["products"].append(time.perf_counter() - started)
    return {k: statistics.median(v) * 1000 for k, v in timings.items()}


def bolt_on_floor_ms(sims: dict[str, str]) -> dict[str, float]:
    """Median time of one call of each bolt-on read of the nested query, in ms."""
    calls = {
        "crm": (f"{sims['crm']}/v1/accounts/C-000001/insights", {"X-Api-Key": TOKENS["crm"]}),
        "shipping": (
            f"{sims['shipping']}/v1/shipments?"
            + "&".join(f"order_number=SO-{i:06d}" for i in range(1, 16)),
            {"Authorization": f"Bearer {TOKENS['shipping']}"},
        ),
        "pricing": (
            f"{sims['pricing']}/v1/prices?" + "&".join(f"sku=SKU-{i:05d}" for i in range(1, 31)),
            {"Authorization": f"Bearer {TOKENS['pricing']}"},
        ),
    }
    found: dict[str, float] = {}
    with httpx.Client() as client:
        for name, (url, headers) in calls.items():
            samples = []
            for _ in range(30):
                started = time.perf_counter()
                client.get(url, headers=headers).raise_for_status()
                samples.append(time.perf_counter() - started)
            found[name] = statistics.median(samples) * 1000
    return found


# --- measuring -----------------------------------------------------------------


def body(query: str, variables: dict[str, Any] | None = None) -> str:
    return json.dumps({"query": query, "variables": variables})


def check(url: str, query: str) -> Any:
    """Run an operation once and insist on an error-free answer (a benchmark of errors is void)."""
    answer = httpx.post(url, json={"query": query}, timeout=30).json()
    if answer.get("errors"):
        raise BenchError(f"{url}: the operation fails: {answer['errors'][:2]}")
    return answer["data"]


def measure(
    *,
    gateway: str,
    operation: str,
    core: str,
    url: str,
    pid: int,
    bodies: list[str],
    sims: dict[str, str],
    workers: int,
    cache: bool,
    concurrency: int,
    duration: float,
) -> Point:
    run_wrk(url, bodies, concurrency=concurrency, duration=1)  # warm-up: pools, JIT, caches
    # The warm-up's last requests, which wrk abandons, still call the bolt-ons: wait them out.
    before = settled_calls(sims)
    with ProcessSampler(pid) as sampler:
        result: WrkResult = run_wrk(url, bodies, concurrency=concurrency, duration=duration)
    # wrk ends with `concurrency` requests in flight, abandoned but still served: their
    # calls are counted once they are made, and they count as operations.
    calls = settled_calls(sims) - before
    requests = max(result.requests, 1)
    operations = result.requests + concurrency
    point = Point(
        gateway=gateway,
        operation=operation,
        core=core,
        workers=workers,
        cache=cache,
        concurrency=concurrency,
        rps=round(result.rps, 1),
        p50_ms=round(result.p50_ms, 2),
        p95_ms=round(result.p95_ms, 2),
        p99_ms=round(result.p99_ms, 2),
        requests=result.requests,
        failed=result.failed,
        backend_calls_per_op=round(calls / operations, 3),
        cpu_s_per_1k=round(sampler.cpu_seconds / requests * 1000, 3),
        peak_rss_mb=round(sampler.worker_peak_rss_mb(), 1),
    )
    print(
        f"  {gateway:5} {operation:7} {core:8} w={workers} cache={'on ' if cache else 'off'} "
        f"c={concurrency:<3} {point.rps:8.1f} req/s  p50 {point.p50_ms:7.2f}  "
        f"p99 {point.p99_ms:7.2f} ms  calls/op {point.backend_calls_per_op:6.3f}  "
        f"cpu/1k {point.cpu_s_per_1k:6.3f}s  rss {point.peak_rss_mb:6.1f} MB"
        + (f"  FAILED {point.failed}" if point.failed else ""),
        flush=True,
    )
    return point


def hive_fanout(data: dict[str, Any]) -> str:
    """The peer's query for the same fan-out: the same SKUs, account and orders."""
    skus = [e["node"]["sku"] for e in data["products"]["edges"]]
    orders = [e["node"]["orderNumber"] for e in data["orders"]["edges"]]
    return (
        f"{{ listPrices(sku: {json.dumps(skus)}, currency: USD) "
        "{ ... on listPrices_200_response { items { sku list_price floor_price currency } } } "
        'getAccountInsights(account_number: "C-000042") { ... on Insights '
        "{ health_score churn_risk } } "
        f"listShipments(order_number: {json.dumps(orders)}) "
        "{ ... on listShipments_200_response { items { order_number carrier status } } } }"
    )


@contextlib.contextmanager
def seeded_core(kind: str, work: Path, postgres_url: str) -> Iterator[tuple[str, list[str]]]:
    """A scale-1 core of ``kind`` (``sqlite`` or ``postgres``) and its DRAFT order numbers."""
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{work / 'core.db'}"
        yield url, asyncio.run(seed_core(url))
        return
    from sqlalchemy.engine import make_url

    schema = f"bench_{os.getpid()}_{int(time.time())}"
    asyncio.run(_pg_schema(postgres_url, f'CREATE SCHEMA "{schema}"'))
    pinned = make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    url = pinned.render_as_string(hide_password=False)
    try:
        yield url, asyncio.run(seed_core(url))
    finally:
        asyncio.run(_pg_schema(postgres_url, f'DROP SCHEMA "{schema}" CASCADE'))


async def _pg_schema(url: str, statement: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


def run(args: argparse.Namespace) -> dict[str, Any]:
    install_peer()
    work = Path(tempfile.mkdtemp(prefix="bench-", dir=WORK))
    points: list[Point] = []
    floor: dict[str, Any] = {}
    with simulators(work, args.latency) as sims:
        peer = compose_peer(work, sims)
        for index, core in enumerate(args.cores):
            print(f"seeding the {core} core (scale 1)", flush=True)
            with seeded_core(core, work, args.postgres_url) as (core_url, drafts):
                found = run_core(
                    args,
                    work,
                    sims,
                    peer,
                    core=core,
                    core_url=core_url,
                    drafts=drafts,
                    # The peer never reads our core: its figures are measured once.
                    with_peer=index == 0,
                )
                points.extend(found.points)
                floor.setdefault(core, found.floor)
    return {
        "points": [asdict(p) for p in points],
        "floor": floor,
        "machine": machine(),
        "latency_ms": args.latency * 1000,
        "duration_s": args.duration,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


@dataclass
class CoreRun:
    """The points of one core's pass, and its nested query's floor."""

    points: list[Point]
    floor: dict[str, Any]


def run_core(
    args: argparse.Namespace,
    work: Path,
    sims: dict[str, str],
    peer: Path,
    *,
    core: str,
    core_url: str,
    drafts: list[str],
    with_peer: bool,
) -> CoreRun:
    """Every operation against one core: 1 and 2 workers, caches off and on."""
    result = CoreRun([], {})
    mix_slices = iter([drafts[i::4] for i in range(4)])
    for workers in args.workers:
        for cache in (False, True):
            configure_sims(sims, args.latency)
            with contextlib.ExitStack() as stack:
                url, pid = stack.enter_context(
                    ours(work, core_url, sims, workers=workers, cache=cache)
                )
                peer_url = peer_pid = None
                if with_peer:
                    peer_url, peer_pid = stack.enter_context(
                        hive(peer, workers=workers, cache=cache)
                    )
                data = check(url, FANOUT)
                peer_query = hive_fanout(data)
                if peer_url is not None:
                    check(peer_url, peer_query)
                check(url, NESTED)
                check(url, LOOKUP)
                common = {
                    "sims": sims,
                    "core": core,
                    "workers": workers,
                    "cache": cache,
                    "duration": args.duration,
                }
                for c in args.concurrency:
                    result.points.append(
                        measure(
                            gateway="ours",
                            operation="fanout",
                            url=url,
                            pid=pid,
                            bodies=[body(FANOUT)],
                            concurrency=c,
                            **common,
                        )
                    )
                    if peer_url is not None and peer_pid is not None:
                        result.points.append(
                            measure(
                                gateway="hive",
                                operation="fanout",
                                url=peer_url,
                                pid=peer_pid,
                                bodies=[body(peer_query)],
                                concurrency=c,
                                **common,
                            )
                        )
                for c in (1, 32):
                    for operation, query in (("lookup", LOOKUP), ("nested", NESTED)):
                        result.points.append(
                            measure(
                                gateway="ours",
                                operation=operation,
                                url=url,
                                pid=pid,
                                bodies=[body(query)],
                                concurrency=c,
                                **common,
                            )
                        )
                mix = []
                for number in next(mix_slices):
                    mix.extend([body(FANOUT)] * 9)
                    mix.append(body(PLACE_ORDER, {"n": number}))
                result.points.append(
                    measure(
                        gateway="ours",
                        operation="mix",
                        url=url,
                        pid=pid,
                        bodies=mix,
                        concurrency=8,
                        **common,
                    )
                )
                if workers == 1 and not cache:
                    result.floor = {
                        "core": asyncio.run(core_floor_ms(core_url)),
                        "bolt_ons": bolt_on_floor_ms(sims),
                    }
    return result


def machine() -> dict[str, str]:
    import psutil

    def version(command: list[str]) -> str:
        try:
            done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        except OSError:
            return "?"
        return (
            (done.stdout or done.stderr).strip().splitlines()[0]
            if (done.stdout or done.stderr)
            else "?"
        )

    lock = json.loads((HERE / "package-lock.json").read_text())["packages"]
    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": str(psutil.cpu_count()),
        "memory_gb": f"{psutil.virtual_memory().total / 2**30:.0f}",
        "os": platform.platform(),
        "python": platform.python_version(),
        "node": version(["node", "--version"]),
        "wrk": version(["wrk", "--version"]),
        "hive_gateway": lock["node_modules/@graphql-hive/gateway"]["version"],
        "mesh_compose": lock["node_modules/@graphql-mesh/compose-cli"]["version"],
        "omnigraph_openapi": lock["node_modules/@omnigraph/openapi"]["version"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark this gateway against Hive Gateway.")
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per point")
    parser.add_argument("--latency", type=float, default=0.005, help="simulator latency, s")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--cores", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"]
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "GATEWAY_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
        ),
        help="a PostgreSQL server to create the benchmark's core schema in",
    )
    parser.add_argument("--quick", action="store_true", help="2 s points, c 1 and 32, 1 worker")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    if args.quick:
        args.duration, args.concurrency, args.workers = 2.0, [1, 32], [1]
        args.cores = args.cores[:1]
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    results = run(args)
    results["wall_s"] = round(time.monotonic() - started)
    # Others' work on the same cores shows here: the figures are only as quiet as the machine.
    results["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    if args.quick:
        print(json.dumps(results["floor"], indent=2))
        return
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    from bench.report import write_report

    write_report(results, args.out)
    print(f"wrote {args.out / 'RESULTS.md'} in {results['wall_s']} s")


if __name__ == "__main__":
    main()
