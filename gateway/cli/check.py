"""``gateway check``: is this deployment able to serve?

Verifies, with the same settings and adapters the gateway itself uses:

- the settings (already validated when we get here);
- the core: it answers, and it has every table and column the gateway reads;
- each bolt-on: reachable, and it accepts our credentials (a 401/403 to a
  cheap authenticated probe means a wrong token or key);
- Redis, when configured.

Each check gets its own time budget so one hanging backend cannot stall the
report. Nothing here prints a secret: URLs are shown without passwords.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from adapters.core.diagnosis import database_said
from adapters.errors import BackendError, BackendRejected, BackendTimeout
from adapters.http import HttpBackend
from gateway.backends import Backends
from gateway.settings import Settings

Status = Literal["ok", "fail", "skip"]

CHECK_TIMEOUT = 5.0

#: The setting that holds each bolt-on's credential, named in a refusal.
CREDENTIAL_SETTING = {
    "pricing": "GATEWAY_PRICING_TOKEN",
    "crm": "GATEWAY_CRM_API_KEY",
    "shipping": "GATEWAY_SHIPPING_TOKEN",
}


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check."""

    name: str
    status: Status
    detail: str
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status != "fail"


def safe_database_url(url: str) -> str:
    """The URL with its password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparsable URL>"


def safe_http_url(url: str) -> str:
    """The URL without user info, query or fragment."""
    try:
        parsed = httpx.URL(url)
        return str(parsed.copy_with(username=None, password=None, query=None, fragment=None))
    except Exception:
        return "<unparsable URL>"


async def _timed(
    name: str, check: Callable[[], Awaitable[tuple[Status, str]]], budget: float
) -> CheckResult:
    started = time.perf_counter()
    try:
        status, detail = await asyncio.wait_for(check(), budget)
    except TimeoutError:
        status, detail = "fail", f"no answer within {budget:g} s"
    return CheckResult(name, status, detail, time.perf_counter() - started)


async def check_core(
    backends: Backends, budget: float, *, database_url: str | None = None
) -> list[CheckResult]:
    """Connectivity, then schema compatibility (skipped when the core cannot be reached).

    Args:
        database_url: the core's URL, for a SQLite file that is missing and for
            keeping its password out of the database's own words.
    """
    core = backends.core
    missing = _missing_sqlite_file(database_url) if database_url else None
    if missing is not None:
        # Connecting would create an empty file there and report every table missing.
        return [
            CheckResult(
                "core: connectivity",
                "fail",
                f"no database file at {missing}: run `gateway demo` or `gateway seed` first, "
                "or set GATEWAY_CORE_DATABASE_URL",
            ),
            CheckResult("core: schema", "skip", "core unreachable"),
        ]

    async def connect() -> tuple[Status, str]:
        try:
            await core.ping()
        except BackendError as exc:
            said = database_said(exc, password=_password(database_url))
            detail = f"cannot query: {exc.reason or exc.code}"
            return "fail", f"{detail}: {said}" if said else detail
        return "ok", "answers SELECT 1"

    reach = await _timed("core: connectivity", connect, budget)
    if not reach.ok:
        return [reach, CheckResult("core: schema", "skip", "core unreachable")]

    async def schema() -> tuple[Status, str]:
        try:
            missing = await core.missing_schema()
        except BackendError as exc:
            return "fail", f"cannot inspect: {exc.reason or exc.code}"
        if missing:
            shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
            return "fail", f"missing {len(missing)}: {shown}"
        return "ok", "every table and column the gateway reads is present"

    return [reach, await _timed("core: schema", schema, budget)]


def _password(url: str | None) -> str | None:
    try:
        return make_url(url).password if url else None
    except Exception:
        return None


def _missing_sqlite_file(url: str) -> Path | None:
    """The absolute path of a SQLite core file that does not exist, else ``None``."""
    try:
        parsed = make_url(url)
    except Exception:
        return None
    database = parsed.database
    if not parsed.drivername.startswith("sqlite") or not database or database == ":memory:":
        return None
    path = Path(database).resolve()
    return None if path.exists() else path


async def check_bolt_on(adapter: HttpBackend, budget: float) -> CheckResult:
    """Reachability and credentials through the adapter's own authenticated probe."""
    where = safe_http_url(adapter.base_url)
    probe: Callable[[], Awaitable[None]] = adapter.probe  # type: ignore[attr-defined]

    async def run() -> tuple[Status, str]:
        try:
            await probe()
        except BackendRejected as exc:
            if exc.status in (401, 403):
                setting = CREDENTIAL_SETTING.get(adapter.service, "its credential")
                return (
                    "fail",
                    f"{where} refused our credentials (HTTP {exc.status}): check {setting}",
                )
            return "fail", f"{where} rejected the probe (HTTP {exc.status})"
        except BackendTimeout:
            return "fail", f"{where} did not answer in time"
        except BackendError as exc:
            return "fail", f"{where} unreachable: {exc.reason or exc.code}"
        return "ok", f"{where} reachable, credentials accepted"

    return await _timed(adapter.service, run, budget)


async def check_redis(url: str | None, budget: float) -> CheckResult:
    if url is None:
        return CheckResult("redis", "skip", "not configured (GATEWAY_REDIS_URL)")
    where = safe_database_url(url)

    async def run() -> tuple[Status, str]:
        from redis.asyncio import Redis
        from redis.exceptions import RedisError

        client = Redis.from_url(url, socket_connect_timeout=budget, socket_timeout=budget)
        try:
            await client.ping()
        except (RedisError, OSError) as exc:
            return "fail", f"{where} unreachable: {type(exc).__name__}"
        finally:
            await client.aclose()
        return "ok", f"{where} answers PING"

    return await _timed("redis", run, budget)


async def run_checks(settings: Settings, *, budget: float = CHECK_TIMEOUT) -> list[CheckResult]:
    """Every check, in a fixed order (bolt-ons and Redis concurrently)."""
    results = [
        CheckResult(
            "settings",
            "ok",
            f"env={settings.env}, core={safe_database_url(settings.core_database_url)}",
        )
    ]
    async with Backends.from_settings(settings) as backends:
        results.extend(await check_core(backends, budget, database_url=settings.core_database_url))
        results.extend(
            await asyncio.gather(
                check_bolt_on(backends.pricing, budget),
                check_bolt_on(backends.crm, budget),
                check_bolt_on(backends.shipping, budget),
                check_redis(settings.redis_url, budget),
            )
        )
    return results


_STYLE = {"ok": "[green]ok[/green]", "fail": "[bold red]FAIL[/bold red]", "skip": "[dim]skip[/dim]"}


def render(results: list[CheckResult], console: Console) -> None:
    """Print the results as a table."""
    table = Table(title="gateway check")
    table.add_column("Check")
    table.add_column("Status")
    table.add_column("Time", justify="right")
    table.add_column("Detail", overflow="fold")
    for result in results:
        table.add_row(
            result.name, _STYLE[result.status], f"{result.seconds * 1000:.0f} ms", result.detail
        )
    console.print(table)
    failed = [result.name for result in results if not result.ok]
    if failed:
        console.print(f"[bold red]{len(failed)} check(s) failed:[/bold red] {', '.join(failed)}")
    else:
        console.print("[green]all checks passed[/green]")
