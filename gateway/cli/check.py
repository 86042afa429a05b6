"""``gateway check``: is this deployment able to serve?

Verifies, with the same settings and adapters the gateway itself uses:

- the settings (already validated when we get here);
- the core: it answers, and it has every table and column the gateway reads;
- each bolt-on: reachable, and it accepts our credentials (a 401/403 to a
  cheap authenticated probe means a wrong token or key);
- each declared bolt-on (``bolt_ons_dir``): its declaration loads, it is
  reachable and accepts the credential, and a sample answer of each field's
  operation (for a real key read from the core when one is at hand, else a
  probe key) validates against the contract's response schema;
- Redis, when configured.

Each check gets its own time budget so one hanging backend cannot stall the
report. Nothing here prints a secret: URLs are shown without passwords.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from adapters.core.diagnosis import database_said
from adapters.errors import BackendError, BackendRejected, BackendTimeout
from adapters.http import HttpBackend
from gateway.backends import Backends
from gateway.bolt_ons.declaration import (
    Declaration,
    DeclarationError,
    FieldDeclaration,
    load_declarations,
)
from gateway.bolt_ons.validation import validate_response
from gateway.settings import Settings
from plugins import BUILT_IN

Status = Literal["ok", "fail", "skip"]

CHECK_TIMEOUT = 5.0

#: The setting that holds each code plugin's credential, named in a refusal.
CREDENTIAL_SETTING = {plugin.name: plugin.credential_variable for plugin in BUILT_IN}


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
    probe: Callable[[], Awaitable[None]] = adapter.probe

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


#: The key of a call that only asks "do you answer, and accept our credential?".
PROBE_KEY = "__probe__"


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """What one direct call of a declared bolt-on's operation showed.

    ``status`` is the short word ``gateway bolt-ons list`` shows: ``reachable``,
    ``credential refused``, ``down`` or ``error``, with the detail in brackets.
    """

    status: str
    detail: str
    http_status: int | None = None
    body: Any = None
    #: A few words of why, for ``list``: ``HTTP 401``, ``cannot connect``.
    reason: str = ""

    @property
    def reachable(self) -> bool:
        return self.status == "reachable"

    @property
    def summary(self) -> str:
        """``status (reason)``: what ``gateway bolt-ons list`` shows."""
        return f"{self.status} ({self.reason})" if self.reason else self.status


def sample_request(declaration: Declaration, declared: FieldDeclaration, key: str) -> httpx.Request:
    """The request of ``declared``'s operation for one ``key``, as the gateway would send it:
    the credential's headers, path parameters filled in, the key in its parameter or body."""
    operation = declared.operation
    path = operation.path
    params: list[tuple[str, str | int | float | bool | None]] = []
    body: dict[str, Any] = {}
    for parameter in operation.parameters.values():
        if parameter.name in (declared.param, declared.batch_param):
            value: Any = key
        elif parameter.required and parameter.default is not None:
            value = parameter.default
        else:
            continue
        if parameter.location == "path":
            path = path.replace("{" + parameter.name + "}", quote(str(value), safe=""))
        elif parameter.location == "query":
            params.append((parameter.name, _query_text(value)))
    if declared.batch_param is not None and declared.batch_param not in operation.parameters:
        body[declared.batch_param] = [key]
    required = set((operation.body or {}).get("required") or ())
    for name, schema in operation.body_properties().items():
        if name in required and name not in body and "default" in schema:
            body[name] = schema["default"]
    headers = {"Accept": "application/json"}
    headers.update(declaration.contract.auth.headers(declaration.secret))
    return httpx.Request(
        operation.method,
        declaration.base_url + path,
        params=params,
        headers=headers,
        json=body if operation.method != "GET" else None,
    )


def _query_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


async def call_declared(
    declaration: Declaration, declared: FieldDeclaration, key: str, seconds: float
) -> CallOutcome:
    """One direct call (no retry, no breaker) of ``declared``'s operation for ``key``."""
    request = sample_request(declaration, declared, key)
    where = safe_http_url(declaration.base_url)
    try:
        async with httpx.AsyncClient(timeout=seconds, trust_env=False) as client:
            response = await client.send(request)
    except httpx.TimeoutException:
        return CallOutcome(
            "down", f"{where} did not answer within {seconds:g} s", reason="no answer in time"
        )
    except httpx.HTTPError as exc:
        said = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        reason = "cannot connect" if isinstance(exc, httpx.ConnectError) else type(exc).__name__
        return CallOutcome("down", f"{where} unreachable: {said}", reason=reason)
    status = response.status_code
    if status in (401, 403):
        variable = declaration.secret_env or "the credential"
        unset = " (it is not set)" if declaration.secret_env and not declaration.secret else ""
        return CallOutcome(
            "credential refused",
            f"{where} refused our credential (HTTP {status}): check {variable}{unset}",
            status,
            reason=f"HTTP {status}",
        )
    if status >= 500:
        return CallOutcome(
            "error", f"{where} answered HTTP {status}", status, reason=f"HTTP {status}"
        )
    body: Any = None
    if 200 <= status < 300:
        try:
            body = response.json()
        except ValueError:
            return CallOutcome(
                "error",
                f"{where} answered HTTP {status} with a body that is not JSON",
                status,
                reason="not JSON",
            )
    return CallOutcome("reachable", f"{where} reachable, credential accepted", status, body)


async def probe_declared(declaration: Declaration, seconds: float) -> CallOutcome:
    """Reachable, and the credential accepted? One call of the first field with a probe key."""
    return await call_declared(declaration, declaration.fields[0], PROBE_KEY, seconds)


#: The core reader of one row per core type, for a real sample key.
_FIRST_ROW: dict[str, Callable[[Any], Awaitable[list[Any]]]] = {
    "Product": lambda core: _items(core.list_products(first=1, after=None)),
    "Customer": lambda core: _items(core.list_customers(first=1, after=None)),
    "Order": lambda core: _items(core.list_orders(first=1, after=None)),
    "Warehouse": lambda core: core.list_warehouses(),
}


async def _items(page: Awaitable[Any]) -> list[Any]:
    return list((await page).items)


async def sample_key(core: Any, declared: FieldDeclaration) -> str | None:
    """A value of ``declared``'s key field from the core's first row of its type, if any."""
    reader = _FIRST_ROW.get(declared.on)
    if reader is None:
        return None
    try:
        rows = await reader(core)
    except BackendError:
        return None
    attribute = "".join(f"_{c.lower()}" if c.isupper() else c for c in declared.key)
    value = getattr(rows[0], attribute, None) if rows else None
    return None if value is None else str(value)


async def check_declared(
    declaration: Declaration, budget: float, *, core: Any = None
) -> CheckResult:
    """A declared bolt-on: reachable, credential accepted, and each field's sample answer
    (for a key read from ``core`` when given, else a probe key) fits the contract."""

    async def run() -> tuple[Status, str]:
        per_call = max(budget / 2, 0.5)
        keys = [await sample_key(core, f) if core is not None else None for f in declaration.fields]
        outcomes = await asyncio.gather(
            *(
                call_declared(declaration, f, key or PROBE_KEY, per_call)
                for f, key in zip(declaration.fields, keys, strict=True)
            )
        )
        first = outcomes[0]
        if not first.reachable:
            return "fail", first.detail
        checked: list[str] = []
        unchecked: list[str] = []
        for declared, key, outcome in zip(declaration.fields, keys, outcomes, strict=True):
            label = f"{declared.coordinate} ({declared.operation.operation_id})"
            if not outcome.reachable:
                return "fail", f"{label}: {outcome.detail}"
            shown = f"key {key}" if key is not None else "a probe key"
            if outcome.http_status == 404 and declared.param is not None:
                unchecked.append(f"{declared.coordinate} (404 for {shown})")
                continue
            if outcome.http_status is None or not 200 <= outcome.http_status < 300:
                return "fail", (
                    f"{label} rejected the sample call for {shown} (HTTP {outcome.http_status})"
                )
            problems = validate_response(
                declaration.contract, declared.operation.response, outcome.body
            )
            if problems:
                more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
                return "fail", (
                    f"{label}: the answer for {shown} does not match the contract: "
                    f"{'; '.join(problems[:3])}{more}"
                )
            checked.append(f"{declared.coordinate} for {shown}")
        detail = first.detail
        if checked:
            detail += "; answers match the contract: " + ", ".join(checked)
        if unchecked:
            detail += "; not validated: " + ", ".join(unchecked)
        return "ok", detail

    return await _timed(declaration.name, run, budget)


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
    declarations: tuple[Declaration, ...] = ()
    try:
        declarations = checked_declarations(settings)
    except DeclarationError as exc:
        results.append(CheckResult("declared bolt-ons", "fail", str(exc)))
        # The rest is still checked, without the declarations that cannot load.
        settings = settings.model_copy(update={"bolt_ons_dir": None})
    else:
        results.append(_declared_summary(settings.bolt_ons_dir, declarations))
    async with Backends.from_settings(settings) as backends:
        core = await check_core(backends, budget, database_url=settings.core_database_url)
        results.extend(core)
        core_ok = all(result.status == "ok" for result in core)
        results.extend(
            await asyncio.gather(
                *(check_bolt_on(backends.bolt_on(plugin.name), budget) for plugin in BUILT_IN),
                *(
                    check_declared(d, budget, core=backends.core if core_ok else None)
                    for d in declarations
                ),
                check_redis(settings.redis_url, budget),
            )
        )
    return results


def checked_declarations(settings: Settings) -> tuple[Declaration, ...]:
    """The declared bolt-ons of ``bolt_ons_dir``, checked as start-up checks them: each file
    against its contract, then their fields against the core schema (types, keys, clashes).

    Raises:
        DeclarationError: the first problem, one line naming the file and the key.
    """
    from gateway.app import create_schema

    declarations = load_declarations(settings.bolt_ons_dir)
    if declarations:
        create_schema(settings, declarations)
    return declarations


def _declared_summary(folder: Path | None, declarations: Sequence[Declaration]) -> CheckResult:
    if not declarations:
        where = f"{folder}/" if folder is not None else "no folder"
        return CheckResult("declared bolt-ons", "skip", f"none in {where} (GATEWAY_BOLT_ONS_DIR)")
    names = ", ".join(d.name for d in declarations)
    return CheckResult("declared bolt-ons", "ok", f"{len(declarations)} in {folder}/ load: {names}")


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
