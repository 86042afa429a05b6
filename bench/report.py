"""Turn ``results.json`` into ``RESULTS.md`` and ``results.png``.

.venv/bin/python -m bench.report bench/results.json   # re-render without re-running
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

TARGETS_NOTE = """\
Targets (from the issue), checked on this run:

| target | figure | met |
|---|---|---|
{rows}
"""


def _points(results: dict[str, Any], **match: Any) -> list[dict[str, Any]]:
    return [p for p in results["points"] if all(p[k] == v for k, v in match.items())]


def _one(results: dict[str, Any], **match: Any) -> dict[str, Any] | None:
    found = _points(results, **match)
    return found[0] if found else None


def floor_ms(results: dict[str, Any]) -> float | None:
    """Sum over the nested query's levels of the slowest backend call of the level."""
    floor = results.get("floor") or {}
    core, bolt = floor.get("core"), floor.get("bolt_ons")
    if not core or not bolt:
        return None
    return float(
        core["customers"]
        + max(bolt["crm"], core["orders"])  # insights beside the orders page
        + max(bolt["shipping"], core["lines"])  # shipments beside the lines
        + core["products"]
        + bolt["pricing"]
    )


def targets(results: dict[str, Any]) -> list[tuple[str, str, bool]]:
    rows: list[tuple[str, str, bool]] = []
    best = max(p["workers"] for p in results["points"])
    for workers in sorted({p["workers"] for p in results["points"]}):
        ours_off = [
            p["rps"]
            for p in _points(
                results, gateway="ours", operation="fanout", workers=workers, cache=False
            )
        ]
        hive_off = [
            p["rps"]
            for p in _points(
                results, gateway="hive", operation="fanout", workers=workers, cache=False
            )
        ]
        ours_on = [
            p["rps"]
            for p in _points(
                results, gateway="ours", operation="fanout", workers=workers, cache=True
            )
        ]
        hive_on = [
            p["rps"]
            for p in _points(
                results, gateway="hive", operation="fanout", workers=workers, cache=True
            )
        ]
        if ours_off and hive_off:
            ratio = max(ours_off) / max(hive_off)
            rows.append(
                (
                    f"fan-out uncached req/s >= Hive's ({workers} worker(s), best "
                    "concurrency each)",
                    f"{max(ours_off):.0f} vs {max(hive_off):.0f} = {ratio:.2f}x",
                    ratio >= 1.0,
                )
            )
        if ours_on and hive_on:
            ratio = max(ours_on) / max(hive_on)
            rows.append(
                (
                    f"fan-out cached req/s >= 1.5 x Hive's response cache ({workers} worker(s))",
                    f"{max(ours_on):.0f} vs {max(hive_on):.0f} = {ratio:.2f}x",
                    ratio >= 1.5,
                )
            )
    floor = floor_ms(results)
    nested = _one(
        results, gateway="ours", operation="nested", workers=1, cache=False, concurrency=1
    )
    if floor is not None and nested is not None:
        limit = 1.2 * floor + 3
        rows.append(
            (
                "nested query at c=1: p50 <= 1.2 x floor + 3 ms",
                f"p50 {nested['p50_ms']:.1f} ms, floor {floor:.1f} ms, limit "
                f"{limit:.1f} ms ({nested['p50_ms'] / limit:.2f}x the limit)",
                nested["p50_ms"] <= limit,
            )
        )
    for operation, minimum in (("fanout", 3), ("nested", 7), ("lookup", 0)):
        point = _one(
            results, gateway="ours", operation=operation, workers=1, cache=False, concurrency=1
        )
        if point is not None:
            rows.append(
                (
                    f"backend calls per {operation} (uncached) = contract minimum {minimum}",
                    f"{point['backend_calls_per_op']:.2f}",
                    # wrk abandons its in-flight request when a point ends while the
                    # gateway still makes its calls: allow that one request's share.
                    abs(point["backend_calls_per_op"] - minimum) <= 0.05 + 0.02 * minimum,
                )
            )
    peak = max((p["peak_rss_mb"] for p in _points(results, gateway="ours")), default=0.0)
    rows.append(("peak RSS < 200 MB per worker", f"{peak:.0f} MB", peak < 200))
    del best
    return rows


def table(points: list[dict[str, Any]]) -> str:
    head = (
        "| gateway | operation | workers | cache | c | req/s | p50 ms | p95 ms | p99 ms | "
        "failed | backend calls/op | CPU s/1k req | peak RSS MB |"
    )
    lines = [head, "|" + "---|" * 13]
    for p in points:
        lines.append(
            f"| {p['gateway']} | {p['operation']} | {p['workers']} | "
            f"{'on' if p['cache'] else 'off'} | {p['concurrency']} | {p['rps']:.1f} | "
            f"{p['p50_ms']:.1f} | {p['p95_ms']:.1f} | {p['p99_ms']:.1f} | {p['failed']} | "
            f"{p['backend_calls_per_op']:.2f} | {p['cpu_s_per_1k']:.2f} | {p['peak_rss_mb']:.0f} |"
        )
    return "\n".join(lines)


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workers_list = sorted({p["workers"] for p in results["points"]})
    fig, axes = plt.subplots(
        2, len(workers_list), figsize=(6 * len(workers_list), 8), squeeze=False
    )
    for col, workers in enumerate(workers_list):
        for gateway, marker in (("ours", "o"), ("hive", "s")):
            for cache, style in ((False, "-"), (True, "--")):
                pts = sorted(
                    _points(
                        results, gateway=gateway, operation="fanout", workers=workers, cache=cache
                    ),
                    key=lambda p: p["concurrency"],
                )
                if not pts:
                    continue
                label = f"{'boltgate' if gateway == 'ours' else 'Hive Gateway'}, cache " + (
                    "on" if cache else "off"
                )
                xs = [p["concurrency"] for p in pts]
                axes[0][col].plot(xs, [p["rps"] for p in pts], style, marker=marker, label=label)
                axes[1][col].plot(xs, [p["p99_ms"] for p in pts], style, marker=marker, label=label)
        axes[0][col].set_title(f"fan-out, {workers} worker(s): requests/s")
        axes[1][col].set_title(f"fan-out, {workers} worker(s): p99 latency (ms)")
        for row in (0, 1):
            axes[row][col].set_xscale("log", base=2)
            axes[row][col].set_xlabel("concurrency (connections)")
            axes[row][col].grid(True, alpha=0.3)
            axes[row][col].legend(fontsize=8)
        axes[0][col].set_yscale("log")  # Hive's cache hits are 10-100x the rest
        axes[1][col].set_yscale("log")
    fig.suptitle(f"Bolt-on fan-out, simulators at {results['latency_ms']:.0f} ms per call")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def write_report(results: dict[str, Any], out: Path, notes: str = "") -> None:
    chart(results, out / "results.png")
    m = results["machine"]
    floor = results.get("floor") or {}
    floor_total = floor_ms(results)
    rows = "\n".join(
        f"| {name} | {figure} | {'yes' if ok else '**no**'} |"
        for name, figure, ok in targets(results)
    )
    by_op = {}
    for operation in ("fanout", "nested", "lookup", "mix"):
        by_op[operation] = table(
            sorted(
                _points(results, operation=operation),
                key=lambda p: (p["workers"], p["cache"], p["concurrency"], p["gateway"]),
            )
        )
    notes_path = out / "NOTES.md"
    extra = notes or (notes_path.read_text() if notes_path.exists() else "")
    text = f"""# Benchmark results

Run on {results["date"]} with `python -m bench.run` ({results["wall_s"]} s wall).

Machine: {m["cpu"]}, {m["cores"]} cores, {m["memory_gb"]} GB, {m["os"]}.
Versions: Python {m["python"]}, Node {m["node"]}, {m["wrk"]}; Hive Gateway
{m["hive_gateway"]}, mesh compose-cli {m["mesh_compose"]}, omnigraph openapi
{m["omnigraph_openapi"]}. Simulators at {results["latency_ms"]:.0f} ms per call, each in
its own process; {results["duration_s"]:.0f} s per point after a 1 s warm-up; core: SQLite,
scale 1 (1,000 customers, 20,000 orders). Everything (gateways, simulators, wrk) shares
the same 2 cores, so the figures are relative, not absolute. Load average (1 min) at
start and end: {results.get("load_average", "not recorded")}.

![requests/s and p99 against concurrency](results.png)

{TARGETS_NOTE.format(rows=rows)}
## Nested query: critical-path floor at concurrency 1

Median single calls, measured directly (ms): core customers
{floor.get("core", {}).get("customers", 0):.2f}, orders
{floor.get("core", {}).get("orders", 0):.2f}, lines {floor.get("core", {}).get("lines", 0):.2f},
products
{floor.get("core", {}).get("products", 0):.2f}; CRM insights
{floor.get("bolt_ons", {}).get("crm", 0):.2f}, Shipping shipments
{floor.get("bolt_ons", {}).get("shipping", 0):.2f}, Pricing prices
{floor.get("bolt_ons", {}).get("pricing", 0):.2f}.
Floor = customers + max(CRM, orders) + max(shipping, lines) + products + pricing =
**{(floor_total or 0):.1f} ms**.

{extra}

## Fan-out (prices of 20 SKUs, insights of one account, shipments of 10 orders)

Both gateways, same simulators, alternating point by point. The peer answers the
bolt-on operations directly (its schema is the three OpenAPI contracts); ours also
reads the core to find the 20 products and 10 shipped orders (two core statements
more per request).

{by_op["fanout"]}

## Nested query (core joined with all three bolt-ons)

{by_op["nested"]}

## Lookup by key (core only)

{by_op["lookup"]}

## Read/write mix (9 fan-out reads : 1 `placeOrder`, concurrency 8)

{by_op["mix"]}
"""
    (out / "RESULTS.md").write_text(text)


if __name__ == "__main__":
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("results.json")
    write_report(json.loads(source.read_text()), source.parent)
