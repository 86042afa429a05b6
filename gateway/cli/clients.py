"""``gateway clients``: add, list, revoke and rotate partner clients in the TOML settings file.

The file's ``[[clients]]`` tables hold each client's id, scopes, revoked flag
and the sha256 hashes of its keys, never a key. A new key is printed once,
on standard output (so it can be piped into a secret store), and cannot be
shown again. The file is rewritten whole with ``tomli-w`` (values are kept,
comments are not), atomically (a crash leaves the old file) and with the
file's own permissions: a settings file may hold secrets, and a 0600 file
stays 0600 (a new one is created 0600).
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path
from typing import Annotated, Any

import tomli_w
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from gateway.bolt_ons import BoltOnFacts, DeclarationError, load_declarations
from gateway.security.clients import ALL_SCOPES, ClientConfig, hash_key, new_key

app = typer.Typer(help="Manage partner clients and their API keys.", no_args_is_help=True)

#: The permissions of a settings file this command creates: its owner's alone.
NEW_FILE_MODE = 0o600
console = Console(stderr=True)

ConfigFile = Annotated[
    Path,
    typer.Option("--config", "-c", envvar="GATEWAY_CONFIG", help="TOML settings file to edit."),
]


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        console.print(f"[red]{path}: not valid TOML ({exc})[/red]")
        raise typer.Exit(2) from None


def _clients(data: dict[str, Any]) -> list[dict[str, Any]]:
    clients = data.setdefault("clients", [])
    if not isinstance(clients, list):
        console.print("[red]clients: must be an array of tables ([[clients]])[/red]")
        raise typer.Exit(2)
    return clients


def _find(clients: list[dict[str, Any]], client_id: str) -> dict[str, Any]:
    for client in clients:
        if client.get("id") == client_id:
            return client
    console.print(f"[red]no client with id {client_id!r}[/red]")
    raise typer.Exit(1)


def _write(path: Path, data: dict[str, Any]) -> None:
    for client in data.get("clients", []):
        try:
            ClientConfig(**client)
        except ValidationError as exc:
            console.print(f"[red]client {client.get('id')!r}: {exc.errors()[0]['msg']}[/red]")
            raise typer.Exit(2) from None
    text = tomli_w.dumps(data)
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else NEW_FILE_MODE
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # Created with the final mode: the keys' hashes are never readable by others, not
    # even for the moment between writing and renaming.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)  # the umask may have narrowed it
        temporary.replace(path)  # atomic: a crash leaves the old file, not half a new one
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _declared_scopes(data: dict[str, Any]) -> frozenset[str]:
    """The scopes the bolt-ons of the settings' ``bolt_ons_dir`` declare (none if invalid:
    the gateway refuses to start on those, with the reason)."""
    folder = os.environ.get("GATEWAY_BOLT_ONS_DIR") or data.get("bolt_ons_dir") or "bolt-ons"
    try:
        declarations = load_declarations(Path(str(folder)))
    except DeclarationError:
        return frozenset()
    return BoltOnFacts(declarations).scopes


def _announce_key(client_id: str, key: str) -> None:
    console.print(f"[green]new key for {client_id}[/green] (shown once; store it now):")
    typer.echo(key)


@app.command("add")
def add(
    client_id: Annotated[str, typer.Argument(help="Client id (letters, digits, . _ -).")],
    config: ConfigFile,
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", "-s", help=f"Scope to grant (repeat): {sorted(ALL_SCOPES)}."),
    ] = None,
    allowlist_only: Annotated[
        bool, typer.Option(help="May run only registered operations.")
    ] = False,
) -> None:
    """Add a client with a new key (printed once)."""
    data = _read(config)
    known = ALL_SCOPES | _declared_scopes(data)
    unknown = sorted(set(scope or []) - known)
    if unknown:
        console.print(
            f"[red]unknown scopes {unknown}; known: {sorted(known)}[/red]", soft_wrap=True
        )
        raise typer.Exit(2)
    clients = _clients(data)
    if any(client.get("id") == client_id for client in clients):
        console.print(f"[red]a client with id {client_id!r} exists; use rotate[/red]")
        raise typer.Exit(1)
    key = new_key()
    entry: dict[str, Any] = {
        "id": client_id,
        "scopes": sorted(set(scope or [])),
        "key_hashes": [hash_key(key)],
        "revoked": False,
    }
    if allowlist_only:
        entry["allowlist_only"] = True
    clients.append(entry)
    _write(config, data)
    _announce_key(client_id, key)


@app.command("list")
def list_clients(config: ConfigFile) -> None:
    """List the clients (never their keys)."""
    table = Table("id", "scopes", "keys", "revoked", "allowlist only")
    for client in _clients(_read(config)):
        table.add_row(
            str(client.get("id")),
            " ".join(client.get("scopes", [])),
            str(len(client.get("key_hashes", []))),
            "yes" if client.get("revoked") else "no",
            "yes" if client.get("allowlist_only") else "no",
        )
    Console().print(table)


@app.command("revoke")
def revoke(
    client_id: Annotated[str, typer.Argument(help="Client id.")], config: ConfigFile
) -> None:
    """Revoke a client: every key and token of it is refused within seconds (reload)."""
    data = _read(config)
    _find(_clients(data), client_id)["revoked"] = True
    _write(config, data)
    console.print(f"[yellow]revoked {client_id}[/yellow]")


@app.command("rotate")
def rotate(
    client_id: Annotated[str, typer.Argument(help="Client id.")],
    config: ConfigFile,
    keep_old: Annotated[
        bool, typer.Option(help="Keep the old keys valid too (for a hand-over).")
    ] = False,
) -> None:
    """Give a client a new key (printed once); the old keys stop working unless --keep-old.

    A revoked client stays revoked (``restore`` lets it back in).
    """
    data = _read(config)
    client = _find(_clients(data), client_id)
    key = new_key()
    old = list(client.get("key_hashes", [])) if keep_old else []
    client["key_hashes"] = [*old, hash_key(key)]
    _write(config, data)
    _announce_key(client_id, key)
    if client.get("revoked"):
        console.print(
            f"[yellow]{client_id} is still revoked: the new key works only after "
            f"`gateway clients restore {client_id}`[/yellow]",
            soft_wrap=True,
        )


@app.command("restore")
def restore(
    client_id: Annotated[str, typer.Argument(help="Client id.")], config: ConfigFile
) -> None:
    """Undo a revoke: the client's current keys work again within seconds (reload)."""
    data = _read(config)
    _find(_clients(data), client_id)["revoked"] = False
    _write(config, data)
    console.print(f"[green]restored {client_id}[/green]")
