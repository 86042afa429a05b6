"""The ``gateway`` command line: serve, demo, simulators, seed, schema, check."""

from __future__ import annotations

import asyncio
import errno
import os
import socket
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

import typer
from rich.console import Console

from adapters.errors import BackendError
from gateway.bolt_ons import Declaration
from gateway.cli.bolt_ons import app as bolt_ons_app
from gateway.cli.clients import app as clients_app
from gateway.cli.common import (
    ConfigOption,
    console,
    core_unavailable,
    declarations_or_exit,
    progress,
    serving_settings_or_exit,
    settings_or_exit,
)
from gateway.cli.outbox import outbox_app
from gateway.settings import Settings

if TYPE_CHECKING:
    from simulators.runner import Simulators

app = typer.Typer(
    help="GraphQL integration gateway: one endpoint over the core and its bolt-ons.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(clients_app, name="clients")
app.add_typer(bolt_ons_app, name="bolt-ons")
app.add_typer(outbox_app, name="outbox")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"boltgate {package_version('boltgate')}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """GraphQL integration gateway: one endpoint over the core and its bolt-ons."""


def _default(text: str, field: str) -> str:
    """``text`` with the setting's default and variable (rich would eat a bare ``[...]``)."""
    default = Settings.model_fields[field].default
    return f"{text} \\[default: {default}; GATEWAY_{field.upper()}]"


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help=_default("Bind address.", "host"))] = None,
    port: Annotated[int | None, typer.Option(help=_default("Port.", "port"))] = None,
    workers: Annotated[
        int | None, typer.Option(help=_default("Worker processes.", "workers"))
    ] = None,
) -> None:
    """Serve the gateway with uvicorn."""
    import uvicorn

    from gateway.caching.responses import several_workers_warning

    settings = serving_settings_or_exit(config, host=host, port=port, workers=workers)
    declarations_or_exit(settings)  # before anything starts: one line, exit 2
    if config is not None:
        # Worker processes re-read settings from the environment.
        os.environ["GATEWAY_CONFIG"] = str(config)
    for name, value in (("HOST", host), ("PORT", port), ("WORKERS", workers)):
        if value is not None:
            os.environ[f"GATEWAY_{name}"] = str(value)
    warning = several_workers_warning(settings)
    if warning is not None:
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False, soft_wrap=True)
    # Bound before the app starts: "gateway ready" then means it, and a busy port is
    # one line naming it instead of a failure after the start-up.
    sock = listen_or_exit(settings.host, settings.port, option="--port or GATEWAY_PORT")
    from gateway.http.server import protocol_class
    from gateway.lifecycle import ReloadingMultiprocess, sigterm_is_a_clean_exit
    from gateway.observability.metrics import multiprocess_mode

    server_config = uvicorn.Config(
        "gateway.app:app_from_environment",
        factory=True,
        workers=settings.workers,
        log_level="info",
        access_log=False,
        timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_seconds)),
        timeout_keep_alive=settings.http_keep_alive_seconds,
        # The parser itself refuses an oversized head (431), before reading it whole;
        # the cap reaches worker processes as uvicorn's "largest unfinished head".
        http=protocol_class(settings.http_implementation),
        h11_max_incomplete_event_size=settings.max_header_bytes,
    )
    console.print(
        f"serving http://{_url_host(settings.host)}:{sock.getsockname()[1]}/graphql "
        f"({settings.workers} worker{'s' if settings.workers > 1 else ''})",
        highlight=False,
    )
    # Workers share their metrics through a fresh directory set before they start.
    with multiprocess_mode(settings.workers), sigterm_is_a_clean_exit():
        if settings.workers > 1:
            sock.set_inheritable(True)  # the spawned workers accept on it
            ReloadingMultiprocess(server_config, sockets=[sock]).run()
            return
        server = uvicorn.Server(server_config)
        server.run(sockets=[sock])
        if not server.started:
            raise typer.Exit(1)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def listen_or_exit(host: str, port: int, *, option: str) -> socket.socket:
    """A listening socket on ``host``:``port``, or exit 1 with a line saying what is wrong."""
    from simulators.runner import bind_socket

    try:
        return bind_socket(host, port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            problem = "the port is in use (another gateway or demo?)"
            hint = f"; stop it, or choose another port ({option})"
        else:
            problem, hint = (exc.strerror or str(exc)).lower(), ""
        console.print(f"[red]cannot listen on {host}:{port}: {problem}{hint}[/red]", soft_wrap=True)
        raise typer.Exit(1) from None


@app.command()
def schema() -> None:
    """Print the GraphQL schema (SDL)."""
    from schema import build_schema

    typer.echo(build_schema().as_str())


@app.command()
def seed(
    config: ConfigOption = None,
    scale: Annotated[float, typer.Option(help="1 = 1,000 customers, 20,000 orders.")] = 1.0,
    reset: Annotated[bool, typer.Option(help="Delete existing core rows first.")] = False,
) -> None:
    """Create the core tables if missing and fill them with deterministic demo data."""
    from simulators.seed import SeedError

    settings = settings_or_exit(config)
    try:
        summary = asyncio.run(_seed(settings, scale=scale, reset=reset))
    except (SeedError, ValueError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    except BackendError as exc:
        core_unavailable(exc, settings.core_database_url)
    console.print(f"[green]seeded[/green] {summary}")


async def _seed(settings: Settings, *, scale: float, reset: bool) -> object:
    from adapters.core import CoreAdapter
    from simulators.seed import seed as run_seed

    _ensure_sqlite_folder(settings.core_database_url)
    with progress() as report:
        async with CoreAdapter(settings.core_database_url) as core:
            await core.create_schema()
            return await run_seed(core, scale=scale, reset=reset, progress=report)


def _ensure_sqlite_folder(url: str) -> None:
    prefix = "sqlite+aiosqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + ":memory:"):
        Path(url[len(prefix) :]).parent.mkdir(parents=True, exist_ok=True)


@app.command()
def demo(
    config: ConfigOption = None,
    port: Annotated[int | None, typer.Option(help=_default("Gateway port.", "port"))] = None,
    scale: Annotated[float, typer.Option(help="Seed scale on first run.")] = 1.0,
) -> None:
    """Run the embedded core, the three bolt-on simulators and the gateway together."""
    from gateway.cli.demo import prepare_core, run_demo
    from gateway.observability.logs import configure_logging

    settings = serving_settings_or_exit(config, port=port)
    declarations_or_exit(settings)  # before the core is seeded: one line, exit 2
    # Before seeding: a second demo on a busy port is one line, not a traceback.
    sock = listen_or_exit(settings.host, settings.port, option="--port")
    configure_logging(settings)
    _ensure_sqlite_folder(settings.core_database_url)

    def started(info: dict[str, Any]) -> None:
        console.print()
        # GraphiQL reads its Headers tab from the URL: this link opens it ready to run.
        with_key = f"{info['graphiql']}?headers={quote(str(info['headers']), safe='')}"
        console.print(f"[bold green]GraphiQL:[/bold green] {with_key}", soft_wrap=True)
        built_in = ", ".join(f"{name} {url}" for name, url in info["built_in"].items())
        console.print(f"bolt-on simulators: {built_in}", soft_wrap=True)
        if info.get("declared"):
            declared = ", ".join(f"{name} {url}" for name, url in info["declared"].items())
            console.print(f"declared bolt-on simulators: {declared}", soft_wrap=True)
        console.print(f"core: {settings.core_database_url}", soft_wrap=True, highlight=False)
        # soft_wrap: a key broken over two lines could not be pasted.
        key = info["api_key"]
        console.print(f"[bold green]Demo API key[/bold green] (every scope): {key}", soft_wrap=True)
        console.print("Other clients send it as a header (GraphiQL's link above has it):")
        console.print(str(info["headers"]), markup=False, highlight=False, soft_wrap=True)
        console.print(
            "In another shell, point gateway commands at this demo (`gateway check` passes):",
        )
        console.print(f". {info['env_file']}", markup=False, highlight=False, soft_wrap=True)
        console.print("Press Ctrl+C to stop.")

    try:
        with progress() as report:
            seeded_orders = asyncio.run(prepare_core(settings, scale=scale, progress=report))
    except BackendError as exc:
        core_unavailable(exc, settings.core_database_url)
    asyncio.run(run_demo(settings, seeded_orders=seeded_orders, started=started, gateway_sock=sock))


@app.command()
def simulators(
    config: ConfigOption = None,
    seeded_orders: Annotated[
        int, typer.Option(help="Orders SO-000001..N the core's seed shipped.")
    ] = 20_000,
    latency: Annotated[float, typer.Option(help="Seconds added to every contract call.")] = 0.0,
    failure_rate: Annotated[float, typer.Option(help="Share of calls answered 503 (0-1).")] = 0.0,
) -> None:
    """Serve a simulator of each bolt-on on the port of the settings' URL (Pricing, CRM,
    Shipping: GATEWAY_PRICING_URL...).

    Credentials are the settings' own (GATEWAY_PRICING_TOKEN, GATEWAY_CRM_API_KEY,
    GATEWAY_SHIPPING_TOKEN); missing ones are generated and printed as the
    environment lines `gateway serve` needs. Each bolt-on declared in
    GATEWAY_BOLT_ONS_DIR gets a simulator generated from its contract, on the
    port of its base_url, checking the secret in its secret_env (or a generated one).
    """
    from gateway.cli.demo import declared_secrets, plugin_credentials
    from plugins import BUILT_IN

    settings = settings_or_exit(config)
    declarations = declarations_or_exit(settings)
    secrets_by_name = declared_secrets(declarations)
    credentials = plugin_credentials(settings)
    sims = _simulators_or_exit(settings, credentials, seeded_orders, declarations, secrets_by_name)
    for served in sims.all:
        served.state.configure(latency=latency, failure_rate=failure_rate)
    console.print(", ".join(f"{name} {served.url}" for name, served in sims.built_in.items()))
    for name, served in sims.declared.items():
        console.print(f"{name} (declared) {served.url}", highlight=False)
    console.print("For `gateway serve` in another shell:")
    for plugin in BUILT_IN:
        typer.echo(f"export {plugin.credential_variable}={credentials[plugin.name]}")
    for plugin in BUILT_IN:
        url = sims.built_in[plugin.name].url
        typer.echo(f"export GATEWAY_{plugin.url_setting.upper()}={url}")
    _print_declared_environment(declarations, sims, secrets_by_name)
    console.print("Knobs: POST /_sim/config on each (latency, failure_rate, ...). Ctrl+C stops.")
    asyncio.run(sims.serve())


@app.command()
def check(
    config: ConfigOption = None,
    budget: Annotated[float, typer.Option(help="Seconds each check may take.")] = 5.0,
) -> None:
    """Verify settings, the core (connectivity, schema), each bolt-on and Redis."""
    from gateway.cli.check import render, run_checks

    settings = serving_settings_or_exit(config)
    results = asyncio.run(run_checks(settings, budget=budget))
    render(results, Console())
    if not all(result.ok for result in results):
        raise typer.Exit(1)


def _simulators_or_exit(
    settings: Settings,
    credentials: dict[str, str],
    seeded_orders: int,
    declarations: tuple[Declaration, ...],
    secrets_by_name: dict[str, str],
) -> Simulators:
    """The simulators on the ports of the settings' URLs, or exit 1 saying which are taken."""
    from urllib.parse import urlsplit

    from plugins import BUILT_IN
    from simulators.runner import Simulators, declared_port

    ports = {plugin.name: urlsplit(plugin.url(settings)).port or 0 for plugin in BUILT_IN}
    ports.update({d.name: declared_port(d) for d in declarations})
    try:
        return Simulators(
            secrets={**credentials, **secrets_by_name},
            ports=ports,
            seeded_orders=seeded_orders,
            declarations=declarations,
        )
    except OSError as exc:
        wanted = ", ".join(f"{service} {port}" for service, port in ports.items())
        console.print(
            f"[red]cannot listen on the simulators' ports ({wanted}, from GATEWAY_*_URL): "
            f"{(exc.strerror or str(exc)).lower()} (a demo running?)[/red]",
            soft_wrap=True,
        )
        raise typer.Exit(1) from None


def _print_declared_environment(
    declarations: tuple[Declaration, ...], sims: Simulators, secrets_by_name: dict[str, str]
) -> None:
    """The lines that point `gateway serve` at the declared bolt-ons' simulators."""
    from gateway.cli.demo import declared_url_variable

    for declaration in declarations:
        if declaration.secret_env is not None:
            typer.echo(f"export {declaration.secret_env}={secrets_by_name[declaration.name]}")
        typer.echo(
            f"export {declared_url_variable(declaration)}={sims.declared[declaration.name].url}"
        )


@app.command("settings-doc")
def settings_doc(
    write: Annotated[
        bool, typer.Option(help="Write docs/configuration.md instead of printing.")
    ] = False,
) -> None:
    """Print (or write) the configuration reference generated from the settings."""
    from gateway.cli.settings_doc import DOC_PATH, render
    from gateway.cli.settings_doc import write as write_doc

    if write:
        changed = write_doc(DOC_PATH)
        console.print(f"{DOC_PATH} {'updated' if changed else 'already up to date'}")
    else:
        typer.echo(render(), nl=False)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
