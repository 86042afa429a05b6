"""Graceful shutdown: tell the fleet first, keep serving, then stop serving.

On SIGTERM the app marks itself draining at once: ``/readyz`` answers 503 on
every connection, new ones included, and every HTTP response carries
``Connection: close`` so clients and load balancers drop their keep-alive
connections to this instance. For ``shutdown_drain_delay_seconds`` the
server keeps accepting and serving as usual, which gives a load balancer's
health check time to notice and route elsewhere. Only then does the signal
reach the server's own handler: uvicorn stops accepting, lets in-flight
requests finish within ``timeout_graceful_shutdown``
(``shutdown_grace_seconds``) and runs the lifespan's shutdown, which stops
background tasks and closes the pools.

Closing the listener at the moment of the signal (no delay) refuses the
load balancer's next health check and every request it routes here before
it notices: connection refused, a 503 at the load balancer.

SIGINT (Ctrl+C in a terminal) skips the delay: a person wants the process
gone. Any signal that arrives during the delay ends it early.

SIGHUP reloads the clients and JWT settings (``gateway.security.reload``):
each worker handles it in its own event loop. With several workers,
uvicorn's supervisor would restart them all instead, so ``gateway serve``
supervises them with ``ReloadingMultiprocess``, which passes the signal on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import State
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.supervisors import Multiprocess

log = logging.getLogger("gateway.lifecycle")

SignalHandler = Callable[[int, FrameType | None], Any]


@contextmanager
def drain_on_sigterm(app: Starlette, *, delay: float = 0.0) -> Iterator[None]:
    """While open, SIGTERM and SIGINT set ``app.state.draining``; SIGTERM reaches the server late.

    Args:
        app: the app whose ``state.draining`` the signals set.
        delay: seconds between a SIGTERM and the server's own handler
            (which closes the listener); 0 hands it over at once.

    Only chains onto a handler a server installed: with the default
    handler (a test running the lifespan in-process, say) nothing changes.
    Must be entered from a coroutine (the lifespan): the delay is a timer
    on the running event loop.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    try:
        loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    previous: dict[signal.Signals, Any] = {}
    drain = _Drain(app.state, loop, delay)
    for sig in (signal.SIGTERM, signal.SIGINT):
        handler = signal.getsignal(sig)
        if callable(handler) and handler is not signal.default_int_handler:
            previous[sig] = handler
            drain.handlers[sig] = handler
            signal.signal(sig, drain.on_signal)
    try:
        yield
    finally:
        drain.closed = True
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _Drain:
    """The chained signal handler and its timer.

    The handler runs between two bytecodes of the main thread, maybe in the
    middle of the event loop's own code; so it only sets flags and hands the
    timer to the loop with ``call_soon_threadsafe``, which is safe there.
    """

    def __init__(self, state: State, loop: asyncio.AbstractEventLoop | None, delay: float) -> None:
        self.state = state
        self.loop = loop
        self.delay = delay
        self.handlers: dict[int, SignalHandler] = {}
        self.signalled = False
        self.released = False
        self.closed = False

    def on_signal(self, sig: int, frame: FrameType | None) -> None:
        self.state.draining = True
        first, self.signalled = not self.signalled, True
        if first and sig == signal.SIGTERM and self.delay > 0 and self.loop is not None:
            self.loop.call_soon_threadsafe(self._start_timer, sig)
            return
        self._release(sig, frame)

    def _start_timer(self, sig: int) -> None:
        if self.released or self.closed:
            return
        log.info("SIGTERM: draining; /readyz answers 503, still serving for %.1f s", self.delay)
        assert self.loop is not None
        self.loop.call_later(self.delay, self._release, sig, None)

    def _release(self, sig: int, frame: FrameType | None) -> None:
        """Hand the signal to the server (once): it stops accepting and finishes in-flight work."""
        if self.released or self.closed:
            return
        self.released = True
        self.handlers[sig](sig, frame)


class CloseConnectionsWhileDraining:
    """Pure-ASGI middleware: while draining, every HTTP response says ``Connection: close``.

    A keep-alive connection would otherwise keep carrying requests to an
    instance about to stop accepting; after one more response the client
    (or load balancer) opens a new connection, which it routes elsewhere.
    The flag is read when the response starts, so a request that began
    before the signal closes its connection too. Websockets pass through.

    Args:
        app: the wrapped ASGI app.
        state: the Starlette app's ``state``; its ``draining`` flag decides.
    """

    def __init__(self, app: ASGIApp, *, state: State) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start" and getattr(self.state, "draining", False):
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != b"connection"
                ]
                headers.append((b"connection", b"close"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_closing)


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


class ReloadingMultiprocess(Multiprocess):
    """uvicorn's worker supervisor, but SIGHUP reaches the workers instead of replacing them."""

    def handle_hup(self) -> None:
        log.info("SIGHUP: passed on to %d workers (they reload their clients)", len(self.processes))
        for process in self.processes:
            if process.pid is not None and process.exitcode is None:
                os.kill(process.pid, signal.SIGHUP)
