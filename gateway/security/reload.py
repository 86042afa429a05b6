"""Clients and JWT settings reloaded without a restart: SIGHUP, or the file changing.

A revoked key must stop working at once, not at the next deploy. While the
app runs, ``ConfigReload`` re-reads the settings (the environment and the
TOML file of ``GATEWAY_CONFIG``) when the process gets SIGHUP, and when the
file's modification time, size or inode change (looked at every
``config_reload_interval`` seconds: a ``stat``, nothing more). From the new
settings it builds the credential table (``[[clients]]``, anonymous scopes,
JWT keys, audience, issuer, leeway) and swaps it into the ``Authenticator``
in one assignment: a request in flight keeps the identity it was given,
every later one is checked against the new table.

A file that does not parse or validate changes nothing: the live
configuration stays, and one line says why. Each configuration that goes
live is a new *generation*, logged with a digest of what it holds (the same
digest on every worker and instance that loaded the same thing) and shown
in ``/readyz``. Other settings in the file are read at start-up only; a
reload that finds them changed says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import signal
import threading
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import orjson
from pydantic import ValidationError

from gateway.observability.logs import EVERY_TIME
from gateway.security.auth import Authenticator, Credentials
from gateway.settings import Settings, load_settings

log = logging.getLogger("gateway.security.reload")

#: The settings a reload applies; everything else waits for a restart.
RELOADED = frozenset(
    {
        "clients",
        "anonymous_scopes",
        "jwt_hs256_secret",
        "jwt_rs256_public_key",
        "jwt_audience",
        "jwt_issuer",
        "jwt_leeway_seconds",
    }
)


@dataclass(frozen=True, slots=True)
class Generation:
    """One configuration that went live: its number in this process and its digest."""

    number: int
    digest: str
    clients: int
    reason: str

    def as_json(self) -> dict[str, object]:
        return {"generation": self.number, "digest": self.digest, "clients": self.clients}


def digest_of(settings: Settings) -> str:
    """A short digest of the reloadable settings (secrets hashed first: never shown)."""
    values: dict[str, Any] = {}
    for name in sorted(RELOADED):
        value = getattr(settings, name)
        if hasattr(value, "get_secret_value"):
            value = hashlib.sha256(value.get_secret_value().encode()).hexdigest()
        values[name] = value
    canonical = orjson.dumps(
        values, default=lambda v: v.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(canonical).hexdigest()[:12]


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_mtime_ns, found.st_size, found.st_ino


class ConfigReload:
    """Reloads the credential table of ``authenticator`` from ``settings.config``.

    Use ``async with`` in the app's lifespan: it installs the SIGHUP handler
    (on the main thread only) and starts the file watch; both end on exit.

    Args:
        settings: the settings the app was built from (their ``config`` file
            is watched; without one there is nothing to reload).
        authenticator: whose table is swapped.
        interval: seconds between two looks at the file; 0 turns the watch off.
        load: reads fresh settings (``load_settings`` of the same file).
    """

    def __init__(
        self,
        settings: Settings,
        authenticator: Authenticator,
        *,
        interval: float,
        load: Callable[[Path], Settings] | None = None,
    ) -> None:
        self.settings = settings
        self.authenticator = authenticator
        self.path = settings.config
        self.interval = interval
        self._load = load or (lambda path: load_settings(path))
        self.live = Generation(1, digest_of(settings), len(settings.clients), "start-up")
        self._seen = _signature(self.path) if self.path is not None else None
        self._task: asyncio.Task[None] | None = None
        self._signal_installed = False
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> Self:
        log.info(
            "configuration generation %d live (digest %s, %d clients)",
            self.live.number,
            self.live.digest,
            self.live.clients,
        )
        if self.path is None:
            return self
        loop = asyncio.get_running_loop()
        if threading.current_thread() is threading.main_thread():
            loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(self.reload("SIGHUP")))
            self._signal_installed = True
        if self.interval > 0:
            self._task = loop.create_task(self._watch(), name="config reload watch")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._signal_installed:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            self._signal_installed = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _watch(self) -> None:
        assert self.path is not None
        while True:
            await asyncio.sleep(self.interval)
            signature = _signature(self.path)
            if signature != self._seen:
                await self.reload("the file changed")

    async def reload(self, reason: str) -> bool:
        """Read the settings again and swap the credential table; ``False`` when it failed."""
        if self.path is None:
            return False
        async with self._lock:
            self._seen = _signature(self.path)
            try:
                # A thread: reading and validating a large file must not stall requests.
                fresh = await asyncio.to_thread(self._load, self.path)
                credentials = _credentials(fresh, self.authenticator.extra_scopes)
            except (ValidationError, tomllib.TOMLDecodeError, OSError, ValueError) as exc:
                log.error(
                    "configuration reload (%s) failed, generation %d stays live: %s: %s",
                    reason,
                    self.live.number,
                    self.path,
                    _problem(exc),
                    extra=EVERY_TIME,
                )
                return False
            digest = digest_of(fresh)
            if digest == self.live.digest:
                log.info(
                    "configuration reload (%s): clients and JWT settings unchanged, "
                    "generation %d stays live",
                    reason,
                    self.live.number,
                )
                return True
            self.authenticator.replace(credentials)
            self.live = Generation(self.live.number + 1, digest, len(fresh.clients), reason)
            log.warning(
                "configuration generation %d live (digest %s, %d clients, %d revoked; %s)",
                self.live.number,
                digest,
                len(fresh.clients),
                sum(client.revoked for client in fresh.clients),
                reason,
                extra=EVERY_TIME,
            )
            others = _changed_elsewhere(self.settings, fresh)
            if others:
                log.warning(
                    "configuration reload: %s changed too; they take effect at the next restart",
                    ", ".join(others),
                )
            self.settings = fresh
            return True


def _credentials(settings: Settings, extra_scopes: frozenset[str]) -> Credentials:
    return Authenticator.from_settings(settings, extra_scopes=extra_scopes).credentials


def _changed_elsewhere(old: Settings, new: Settings) -> list[str]:
    before, after = old.model_dump(exclude=set(RELOADED)), new.model_dump(exclude=set(RELOADED))
    return sorted(name for name in after if before.get(name) != after[name])


def _problem(exc: BaseException) -> str:
    """One line naming what is wrong (never a value: the file may hold secrets)."""
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
    if isinstance(exc, OSError):
        return os.strerror(exc.errno) if exc.errno else type(exc).__name__
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


__all__ = ["RELOADED", "ConfigReload", "Generation", "digest_of"]
