"""A steady load over keep-alive connections that records every request.

``Load`` runs ``concurrency`` workers in a process of its own, each sending
one request after another through one pooled ``httpx.AsyncClient``: nine
reads (core and Pricing) for every write (``createCustomer`` with a unique
e-mail, so every acknowledged write can be looked up afterwards). Every
request becomes a ``Sample``; ``summary`` counts them over any time window.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

READ = """query FleetRead($sku: String!) {
  product(sku: $sku) { sku name available price { listPrice marginPct } }
}"""
READ_ORDERS = """query FleetOrders {
  orders(first: 5) { edges { node { orderNumber status total } } }
}"""
WRITE = """mutation FleetWrite($input: CreateCustomerInput!) {
  createCustomer(input: $input) { customer { accountNumber email } userErrors { code } }
}"""
SKUS = [f"SKU-{n:05d}" for n in range(1, 6)]


@dataclass(frozen=True, slots=True)
class Sample:
    """One request as the client saw it.

    Attributes:
        started: ``time.monotonic()`` when it was sent.
        seconds: how long until the whole answer arrived (or the error).
        kind: ``read`` or ``write``.
        status: the HTTP status; None for a connection error.
        error: the connection error's class name, or a GraphQL error code.
        served_by: the instance that answered (HAProxy's ``X-Served-By``).
        written: the e-mail of a write the gateway acknowledged.
    """

    started: float
    seconds: float
    kind: str
    status: int | None
    error: str | None
    served_by: str | None
    written: str | None = None

    @property
    def failed(self) -> bool:
        """Not a 2xx, or no answer at all."""
        return self.status is None or not 200 <= self.status < 300


@dataclass(frozen=True)
class Summary:
    """What a window of samples adds up to."""

    requests: int
    failed: int
    non_2xx: int
    connection_errors: int
    graphql_errors: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    per_second: float
    served_by: dict[str, int]
    writes_sent: int
    writes_acknowledged: int

    def line(self) -> str:
        by = ", ".join(f"{name} {count}" for name, count in sorted(self.served_by.items()))
        return (
            f"{self.requests} requests ({self.per_second:.0f}/s), {self.failed} failed "
            f"({self.non_2xx} non-2xx, {self.connection_errors} connection errors), "
            f"{self.graphql_errors} with GraphQL errors; p50 {self.p50_ms:.1f} ms, "
            f"p99 {self.p99_ms:.1f} ms, max {self.max_ms:.1f} ms; writes "
            f"{self.writes_acknowledged}/{self.writes_sent} acknowledged; served by {by}"
        )


def _percentile(values: Sequence[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summarize(samples: Sequence[Sample], seconds: float) -> Summary:
    """Counts and latencies of ``samples``, sent over ``seconds``."""
    latencies = [sample.seconds * 1000 for sample in samples]
    served: dict[str, int] = {}
    for sample in samples:
        if sample.served_by:
            served[sample.served_by] = served.get(sample.served_by, 0) + 1
    return Summary(
        requests=len(samples),
        failed=sum(sample.failed for sample in samples),
        non_2xx=sum(sample.status is not None and sample.failed for sample in samples),
        connection_errors=sum(sample.status is None for sample in samples),
        graphql_errors=sum(
            sample.status is not None and not sample.failed and sample.error is not None
            for sample in samples
        ),
        p50_ms=_percentile(latencies, 0.50),
        p99_ms=_percentile(latencies, 0.99),
        max_ms=max(latencies, default=0.0),
        per_second=len(samples) / seconds if seconds > 0 else 0.0,
        served_by=served,
        writes_sent=sum(sample.kind == "write" for sample in samples),
        writes_acknowledged=sum(sample.written is not None for sample in samples),
    )


class Load:
    """Steady load against ``url`` until stopped, from a process of its own.

    The generator runs in a child process (``python -m fleet.load``), as wrk
    would: it then competes with the gateways for the CPU, not with the
    process that orchestrates them for the GIL. On ``stop`` it finishes the
    requests in flight and hands every sample back (``time.monotonic`` is
    the same clock in both processes).

    Args:
        url: the load balancer.
        headers: the client's credential.
        concurrency: requests in flight at once (one keep-alive connection each).
        write_every: one write among this many requests (0: reads only).
        tag: marks this load's writes (their e-mails start ``<tag>-``).
        timeout: seconds one request may take.
        rate: requests per second in all, spread over the workers; None sends
            as fast as answers come back (a closed loop, like wrk). A rate
            leaves the machine room to restart instances; when the fleet
            cannot keep up, the load falls back to a closed loop.
        workdir: where the samples file goes (default: a temporary folder).

    Example:
        >>> with Load(fleet.url, headers=fleet.headers()) as load:
        ...     time.sleep(10)
        >>> load.summary().failed
        0
    """

    def __init__(
        self,
        url: str,
        *,
        headers: dict[str, str],
        concurrency: int = 16,
        write_every: int = 10,
        tag: str | None = None,
        timeout: float = 30.0,
        rate: float | None = None,
        workdir: Path | None = None,
    ) -> None:
        self.url = url
        self.rate = rate
        self.headers = headers
        self.concurrency = concurrency
        self.write_every = write_every
        self.tag = tag or f"load-{uuid.uuid4().hex[:8]}"
        self.timeout = timeout
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="fleet-load-"))
        self.samples: list[Sample] = []
        self.started_at = 0.0
        self.stopped_at = 0.0
        self._process: subprocess.Popen[bytes] | None = None
        self._out = self.workdir / f"{self.tag}.jsonl"
        self._ready = self.workdir / f"{self.tag}.ready"

    def start(self, timeout: float = 30.0) -> None:
        """Start the generator; returns once its first requests are on their way."""
        options = {
            "url": self.url,
            "headers": self.headers,
            "concurrency": self.concurrency,
            "write_every": self.write_every,
            "tag": self.tag,
            "timeout": self.timeout,
            "rate": self.rate,
            "out": str(self._out),
            "ready": str(self._ready),
        }
        self._process = subprocess.Popen(  # noqa: S603 (this interpreter, our own module)
            [sys.executable, "-m", "fleet.load", orjson.dumps(options).decode()],
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while not self._ready.exists():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the load generator did not start ({self._process.poll()})")
            time.sleep(0.02)
        self.started_at = float(self._ready.read_text())

    def stop(self) -> None:
        """Stop sending, wait for the requests in flight, collect the samples."""
        if self._process is None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            status = self._process.wait(self.timeout + 30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            raise RuntimeError("the load generator did not stop") from None
        if status != 0:
            raise RuntimeError(f"the load generator failed (exit status {status})")
        lines = self._out.read_bytes().splitlines()
        self.samples = [Sample(**orjson.loads(line)) for line in lines]
        self.stopped_at = max(
            (sample.started + sample.seconds for sample in self.samples), default=time.monotonic()
        )

    def __enter__(self) -> Load:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def summary(self, since: float | None = None, until: float | None = None) -> Summary:
        """Requests sent in [since, until) (default: the whole run); after ``stop``."""
        start = self.started_at if since is None else since
        end = self.stopped_at if until is None else until
        window = [s for s in self.samples if start <= s.started < end]
        return summarize(window, end - start)

    def written(self) -> set[str]:
        """E-mails of every write the gateway acknowledged."""
        return {s.written for s in self.samples if s.written is not None}

    def failures(self) -> dict[str, int]:
        """Failed requests by what went wrong (``HTTP 503``, ``ConnectError`` ...)."""
        found: dict[str, int] = {}
        for sample in self.samples:
            if sample.failed:
                what = f"HTTP {sample.status}" if sample.status is not None else str(sample.error)
                found[what] = found.get(what, 0) + 1
        return found


class _Generator:
    """The child process's side: workers sending requests until SIGTERM."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.url: str = options["url"]
        self.headers: dict[str, str] = options["headers"]
        self.concurrency: int = options["concurrency"]
        self.write_every: int = options["write_every"]
        self.tag: str = options["tag"]
        self.timeout: float = options["timeout"]
        rate: float | None = options["rate"]
        # Each worker sends at most one request per interval.
        self.interval = self.concurrency / rate if rate else 0.0
        self.out = Path(options["out"])
        self.ready = Path(options["ready"])
        self.samples: list[Sample] = []
        self.counter = itertools.count()
        self.stopping = asyncio.Event()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.stopping.set)
        limits = httpx.Limits(
            max_connections=self.concurrency, max_keepalive_connections=self.concurrency
        )
        async with httpx.AsyncClient(
            base_url=self.url, headers=self.headers, limits=limits, timeout=self.timeout
        ) as client:
            # Written aside, then renamed: the parent never reads a half-written file.
            partial = self.ready.with_suffix(".partial")
            partial.write_text(repr(time.monotonic()))
            partial.rename(self.ready)
            await asyncio.gather(*(self._worker(client) for _ in range(self.concurrency)))
        with self.out.open("wb") as handle:
            for sample in self.samples:
                handle.write(orjson.dumps(dataclasses.asdict(sample)) + b"\n")

    def _request(self, n: int) -> tuple[str, dict[str, Any], str | None]:
        if self.write_every and n % self.write_every == self.write_every - 1:
            email = f"{self.tag}-{n}@fleet.example"
            customer = {"name": f"Fleet {n}", "email": email, "segment": "SMB"}
            variables = {"input": {**customer, "creditLimit": "1000.00"}}
            return "write", {"query": WRITE, "variables": variables}, email
        if n % 3 == 0:
            return "read", {"query": READ_ORDERS}, None
        return "read", {"query": READ, "variables": {"sku": SKUS[n % len(SKUS)]}}, None

    async def _worker(self, client: httpx.AsyncClient) -> None:
        next_at = time.monotonic()
        while not self.stopping.is_set():
            if self.interval:
                next_at += self.interval
                # Behind schedule (the fleet is slower than the rate): no catching up in a burst.
                next_at = max(next_at, time.monotonic())
                await asyncio.sleep(next_at - time.monotonic())
            n = next(self.counter)
            kind, body, email = self._request(n)
            started = time.monotonic()
            try:
                response = await client.post("/graphql", json=body)
            except httpx.TransportError as exc:
                elapsed = time.monotonic() - started
                self.samples.append(Sample(started, elapsed, kind, None, type(exc).__name__, None))
                continue
            elapsed = time.monotonic() - started
            error, written = _outcome(response, kind, email)
            served_by = response.headers.get("x-served-by")
            self.samples.append(
                Sample(started, elapsed, kind, response.status_code, error, served_by, written)
            )


def _outcome(
    response: httpx.Response, kind: str, email: str | None
) -> tuple[str | None, str | None]:
    """(the first error code or None, the e-mail of an acknowledged write or None)."""
    try:
        body = response.json()
    except ValueError:
        return "not JSON", None
    if not isinstance(body, dict):
        return "not an object", None
    errors = body.get("errors")
    if errors:
        first = errors[0] if isinstance(errors, list) and errors else {}
        code = (first.get("extensions") or {}).get("code") if isinstance(first, dict) else None
        return str(code or "error"), None
    if kind != "write":
        return None, None
    payload = (body.get("data") or {}).get("createCustomer") or {}
    if payload.get("userErrors"):
        return str(payload["userErrors"][0].get("code")), None
    customer = payload.get("customer") or {}
    return None, email if customer.get("email") == email else None


def main(argv: Sequence[str]) -> None:
    """``python -m fleet.load '<options as JSON>'`` (what ``Load.start`` runs)."""
    asyncio.run(_Generator(orjson.loads(argv[0])).run())


if __name__ == "__main__":
    main(sys.argv[1:])
