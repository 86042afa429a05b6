"""``gateway outbox``: how the event outbox stands, and re-queueing failed events.

gateway outbox           pending / failed / delivered counts, oldest pending age
gateway outbox replay    put every failed event back in the queue
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from adapters.errors import BackendError
from gateway.cli.common import ConfigOption, core_unavailable, settings_or_exit

if TYPE_CHECKING:
    from gateway.writes.outbox import OutboxStats

outbox_app = typer.Typer(
    help="The outbox of business events to the CRM: status and replay.",
    no_args_is_help=False,
    add_completion=False,
)
console = Console()


def _database_url(config: Path | None) -> str:
    return settings_or_exit(config).core_database_url


# The core adapter and the outbox are imported when a command runs: every other
# `gateway` command (and `--help`) loads this module too.


async def _stats(url: str) -> OutboxStats:
    from adapters.core import CoreAdapter
    from adapters.core.gateway_tables import ensure_gateway_tables
    from gateway.writes.outbox import outbox_stats

    async with CoreAdapter(url) as core:
        await ensure_gateway_tables(core)
        return await outbox_stats(core)


async def _replay(url: str, ids: list[str]) -> int:
    from adapters.core import CoreAdapter
    from adapters.core.gateway_tables import ensure_gateway_tables
    from gateway.writes.outbox import replay_failed

    async with CoreAdapter(url) as core:
        await ensure_gateway_tables(core)
        return await replay_failed(core, ids)


def format_stats(stats: OutboxStats) -> str:
    """The status lines ``gateway outbox`` prints."""
    age = "-" if stats.oldest_pending_age is None else f"{stats.oldest_pending_age:.1f} s"
    return (
        f"pending    {stats.pending}\n"
        f"failed     {stats.failed}\n"
        f"delivered  {stats.delivered}\n"
        f"oldest pending age  {age}"
    )


@outbox_app.callback(invoke_without_command=True)
def status(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Show pending, failed and delivered counts and the oldest pending event's age."""
    if ctx.invoked_subcommand is not None:
        return
    url = _database_url(config)
    try:
        stats = asyncio.run(_stats(url))
    except BackendError as exc:
        core_unavailable(exc, url)
    console.print(format_stats(stats), highlight=False)


@outbox_app.command()
def replay(
    config: ConfigOption = None,
    event_id: Annotated[
        list[str] | None, typer.Option("--id", help="Only this event (repeatable).")
    ] = None,
) -> None:
    """Re-queue failed events (all of them, or those given with --id)."""
    url = _database_url(config)
    try:
        count = asyncio.run(_replay(url, event_id or []))
    except BackendError as exc:
        core_unavailable(exc, url)
    console.print(f"re-queued {count} failed event(s)", highlight=False)


__all__ = ["format_stats", "outbox_app"]
