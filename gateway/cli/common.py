"""What every ``gateway`` command shares: the settings option, reading them, progress bars."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import Progress, TaskID

from adapters.errors import BackendError
from gateway.bolt_ons import BoltOnFacts, Declaration, DeclarationError, load_declarations
from gateway.security.clients import check_client_scopes
from gateway.settings import (
    Settings,
    SettingsFileError,
    explain,
    load_settings,
    unknown_variables,
)

#: Messages for the operator go to standard error; a command's output to standard out.
console = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML settings file (also GATEWAY_CONFIG)."),
]


def serving_settings_or_exit(config: Path | None, **overrides: object) -> Settings:
    """``settings_or_exit``, and what serving needs beyond valid values (tracing's exporter)."""
    from gateway.observability.tracing import exporter_problem

    settings = settings_or_exit(config, **overrides)
    problem = exporter_problem(settings)
    if problem is not None:
        _invalid([problem])
    return settings


def settings_or_exit(config: Path | None, **overrides: object) -> Settings:
    """The settings, or exit with status 2 and one line per invalid value.

    Warns about ``GATEWAY_*`` variables that are no setting (a typo would
    otherwise be silently ignored).
    """
    given = {key: value for key, value in overrides.items() if value is not None}
    for warning in unknown_variables():
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False, soft_wrap=True)
    try:
        return load_settings(config, **given)
    except ValidationError as exc:
        options = {key: "--" + key.replace("_", "-") for key in given}
        _invalid(explain(exc, config=config, options=options))
    except (FileNotFoundError, SettingsFileError) as exc:
        _invalid([str(exc)])
    raise AssertionError("unreachable")


def declarations_or_exit(settings: Settings) -> tuple[Declaration, ...]:
    """The bolt-ons declared in ``settings.bolt_ons_dir``, checked as start-up checks them
    (against their contracts, then against the schema); else exit 2 with the one-line problem.
    """
    from gateway.app import create_schema

    try:
        declarations = load_declarations(settings.bolt_ons_dir)
        if declarations:
            create_schema(settings, declarations)
        check_client_scopes(settings.clients, BoltOnFacts(declarations).scopes)
    except DeclarationError as exc:
        console.print("[red]Invalid bolt-on declaration:[/red]")
        console.print(f"  {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except ValueError as exc:  # a client's scope nobody declares
        _invalid([str(exc)])
    return declarations


def _invalid(lines: list[str]) -> None:
    console.print("[red]Invalid settings:[/red]")
    for line in lines:
        console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def core_unavailable(exc: BackendError, database_url: str) -> NoReturn:
    """Exit 1 with one line: the failure and what the database said (never a password)."""
    from sqlalchemy.engine import make_url

    from adapters.core.diagnosis import database_said

    try:
        password = make_url(database_url).password
    except Exception:
        password = None
    said = database_said(exc, password=password)
    console.print(f"{exc}: {said}" if said else str(exc), style="red", markup=False, soft_wrap=True)
    raise typer.Exit(1)


@contextmanager
def progress() -> Iterator[Callable[[str, int, int], None]]:
    """A progress reporter ``(stage, done, total)`` drawn with rich bars."""
    with Progress(console=console, transient=True) as progress:
        tasks: dict[str, TaskID] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done)

        yield report
