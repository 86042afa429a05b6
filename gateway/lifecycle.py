"""Graceful shutdown: stop looking ready before the server stops serving.

On SIGTERM the app first marks itself draining (``/readyz`` answers 503 on
connections still open, so a load balancer takes the instance out), then
hands the signal to the server's own handler: uvicorn stops accepting,
lets in-flight requests finish within ``timeout_graceful_shutdown``
(``shutdown_grace_seconds``) and only then runs the lifespan's shutdown,
which stops background tasks and closes the pools.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from starlette.applications import Starlette


@contextmanager
def drain_on_sigterm(app: Starlette) -> Iterator[None]:
    """While open, SIGTERM and SIGINT set ``app.state.draining`` before the server's handler runs.

    Only chains onto a handler a server installed: with the default
    handler (a test running the lifespan in-process, say) nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[signal.Signals, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        handler = signal.getsignal(sig)
        if callable(handler) and handler is not signal.default_int_handler:
            previous[sig] = handler
            signal.signal(sig, _chained(app, handler))
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _chained(app: Starlette, handler: Any) -> Any:
    def on_signal(sig: int, frame: FrameType | None) -> None:
        app.state.draining = True
        handler(sig, frame)

    return on_signal


@contextmanager
def sigterm_is_a_clean_exit() -> Iterator[None]:
    """Make a SIGTERM that uvicorn already handled end the process with status 0.

    uvicorn drains on SIGTERM, then re-raises the signal against the handler
    that was in place before it started; with the default handler that kills
    the process (status -15) after a clean shutdown. A no-op handler here lets
    ``gateway serve`` return normally instead.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _ignore)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _ignore(sig: int, frame: FrameType | None) -> None:
    """Already handled by the server; nothing left to do."""
