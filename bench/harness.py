"""Load generation with wrk, result parsing, and per-process CPU / memory sampling.

The benchmark drives every server with ``wrk`` (Debian's package) and the
Lua script beside this file, which prints one ``BENCH_RESULT {json}`` line;
``parse_wrk`` reads it. ``ProcessSampler`` watches a server's process tree
(master and workers) for CPU seconds and peak RSS while a point runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # psutil comes with the `bench` extra; the parser works without it
    import psutil

HERE = Path(__file__).resolve().parent
WRK_SCRIPT = HERE / "wrk_post.lua"
RESULT_PREFIX = "BENCH_RESULT "


class BenchError(RuntimeError):
    """The benchmark cannot run or a tool's output cannot be read."""


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run measured."""

    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    errors: dict[str, int]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failed(self) -> int:
        """Requests without a clean GraphQL answer (``graphql`` counts non-200s too)."""
        return sum(count for kind, count in self.errors.items() if kind != "status")


def parse_wrk(output: str) -> WrkResult:
    """The ``BENCH_RESULT`` line of a wrk run with ``wrk_post.lua``.

    Raises:
        BenchError: no result line in ``output``.
    """
    for line in output.splitlines():
        if line.startswith(RESULT_PREFIX):
            data = json.loads(line[len(RESULT_PREFIX) :])
            return WrkResult(
                requests=int(data["requests"]),
                seconds=data["duration_us"] / 1e6,
                p50_ms=data["p50_us"] / 1000,
                p95_ms=data["p95_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                mean_ms=float(data["mean_us"]) / 1000,
                errors={k: int(v) for k, v in data["errors"].items()},
            )
    raise BenchError(f"no {RESULT_PREFIX.strip()} line in wrk output:\n{output[-2000:]}")


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise BenchError("wrk is not installed: apt-get install -y wrk")
    return path


def run_wrk(
    url: str,
    bodies: list[str],
    *,
    concurrency: int,
    duration: float,
    threads: int | None = None,
    timeout: float = 10.0,
) -> WrkResult:
    """POST ``bodies`` (cycled) to ``url`` with ``concurrency`` connections for ``duration`` s."""
    threads = threads or max(1, min(2, concurrency))
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as file:
        file.write("\n".join(bodies) + "\n")
        body_file = file.name
    try:
        env = {**os.environ, "BENCH_BODIES": body_file, "BENCH_THREADS": str(threads)}
        command = [
            wrk_path(),
            f"-t{threads}",
            f"-c{concurrency}",
            f"-d{max(1, round(duration))}s",
            f"--timeout={timeout:g}s",
            "-s",
            str(WRK_SCRIPT),
            url,
        ]
        done = subprocess.run(  # noqa: S603 - a fixed tool with our own arguments
            command, env=env, capture_output=True, text=True, timeout=duration + 60, check=False
        )
    finally:
        os.unlink(body_file)
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr[-2000:]}")
    return parse_wrk(done.stdout)


@dataclass
class ProcessSampler:
    """CPU seconds and peak RSS of a process and its children while ``with`` runs.

    Children are looked up at every sample, so forked workers are counted.
    """

    pid: int
    interval: float = 0.1
    peak_rss: dict[int, int] = field(default_factory=dict)
    cpu_seconds: float = 0.0
    _start_cpu: dict[int, float] = field(default_factory=dict)
    _last_cpu: dict[int, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _processes(self) -> list[psutil.Process]:
        import psutil

        try:
            root = psutil.Process(self.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def _sample(self) -> None:
        import psutil

        for process in self._processes():
            try:
                with process.oneshot():
                    times = process.cpu_times()
                    rss = process.memory_info().rss
            except psutil.Error:
                continue
            cpu = times.user + times.system
            self._start_cpu.setdefault(process.pid, cpu)
            self._last_cpu[process.pid] = cpu
            self.peak_rss[process.pid] = max(self.peak_rss.get(process.pid, 0), rss)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> ProcessSampler:
        self._sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
        self.cpu_seconds = sum(
            self._last_cpu[pid] - self._start_cpu.get(pid, self._last_cpu[pid])
            for pid in self._last_cpu
        )

    def worker_peak_rss_mb(self) -> float:
        """The largest peak RSS of one process of the tree (a worker, or the only process)."""
        return max(self.peak_rss.values(), default=0) / 1_048_576


def wait_http(
    url: str, *, timeout: float = 60.0, process: subprocess.Popen[Any] | None = None
) -> None:
    """Block until ``url`` answers any HTTP status."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise BenchError(f"{url}: the server exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise BenchError(f"{url} did not answer within {timeout:g}s")
