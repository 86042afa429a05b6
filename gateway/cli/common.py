"""What every ``gateway`` command shares: the settings option, reading them, progress bars."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import Progress, TaskID

from gateway.settings import Settings, load_settings

#: Messages for the operator go to standard error; a command's output to standard out.
console = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML settings file (also GATEWAY_CONFIG)."),
]


def settings_or_exit(config: Path | None, **overrides: object) -> Settings:
    """The settings, or exit with status 2 and one line per invalid value."""
    try:
        return load_settings(config, **{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        console.print("[red]Invalid settings:[/red]")
        for error in exc.errors():
            key = ".".join(str(part) for part in error["loc"])
            console.print(f"  GATEWAY_{key.upper()}: {error['msg']}")
        raise typer.Exit(2) from None
    except FileNotFoundError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


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
