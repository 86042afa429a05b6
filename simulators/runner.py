"""Serve ASGI apps on loopback with uvicorn: in a background thread, or together in this loop.

Sockets are bound here, before uvicorn starts, so a port-0 server's URL is
known at once and nothing races for a "free" port. Tests and benchmarks use
``BackgroundServer`` (or ``Simulators.start_in_thread``); ``gateway demo``
runs everything in its own loop with ``serve_together``.

Example:
    >>> with Simulators.start_in_thread(
    ...     secrets={"pricing": "p", "crm": "c", "shipping": "s"}, seeded_orders=100
    ... ) as sims:
    ...     httpx.get(f"{sims.pricing.url}/v1/prices?sku=SKU-00001", headers=...)
    ...     sims.pricing.state.count("listPrices")
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, Self, TypeVar
from urllib.parse import urlsplit

import uvicorn
from starlette.types import ASGIApp

from gateway.bolt_ons.declaration import Declaration
from plugins import BUILT_IN
from plugins.base import BoltOnPlugin
from simulators.common import SimulatorState
from simulators.declared import create_declared_app

StateT = TypeVar("StateT")

#: Settings every embedded server starts from; callers may override any.
QUIET_CONFIG: dict[str, Any] = {
    "log_level": "warning",
    "access_log": False,
    # No dictConfig: the host process (pytest, the CLI) owns logging.
    "log_config": None,
    # Backstop for calls still running at a stop (simulated hangs are released first).
    "timeout_graceful_shutdown": 1,
}


def bind_socket(host: str = "127.0.0.1", port: int = 0, *, backlog: int = 2048) -> socket.socket:
    """A listening TCP socket for ``uvicorn.Server.serve(sockets=[...])``.

    The protocol is given explicitly: asyncio turns TCP_NODELAY on only for
    sockets whose ``proto`` is IPPROTO_TCP, and accepted sockets inherit it;
    with proto 0 every keep-alive request after the first stalls ~40 ms on
    delayed ACKs. asyncio makes the socket non-blocking itself.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        # Listen now, so clients may connect (and queue) before the server runs.
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


def url_of(sock: socket.socket) -> str:
    """``http://host:port`` of a bound socket."""
    host, port = sock.getsockname()[:2]
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def server_config(app: ASGIApp, **overrides: Any) -> uvicorn.Config:
    """A quiet uvicorn config (warnings only, no access log) for an embedded server."""
    return uvicorn.Config(app, **{**QUIET_CONFIG, **overrides})


def release_hangs(app: ASGIApp) -> None:
    """Let a simulator's hanging calls go, so a graceful stop need not wait them out."""
    state = getattr(getattr(app, "state", None), "simulator", None)
    if isinstance(state, SimulatorState):
        state.release()


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signals to its owner.

    ``uvicorn.Server.serve`` installs its own SIGINT/SIGTERM handlers on the
    main thread, and several servers in one loop would overwrite each
    other's; ``serve_together`` handles signals once for all of them.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@dataclass(frozen=True)
class ServedApp(Generic[StateT]):
    """An app and the socket it is (to be) served on.

    Attributes:
        app: the ASGI app.
        sock: its listening socket; the server closes it when it stops.
        state: the simulator's state (knobs, counters), if any.
    """

    app: ASGIApp
    sock: socket.socket
    state: StateT

    @property
    def url(self) -> str:
        return url_of(self.sock)


class BackgroundServer:
    """One app served by uvicorn in a daemon thread with its own event loop.

    Args:
        app: the ASGI app.
        sock: a socket from ``bind_socket``; bound to ``host``:``port`` if omitted.
        host: the address to bind when no socket is given.
        port: the port to bind when no socket is given; 0 for a free one.
        startup_timeout: seconds ``start()`` waits for the server to accept.
        **config: ``uvicorn.Config`` options over ``QUIET_CONFIG``.

    Example:
        >>> with BackgroundServer(create_pricing_app("token")) as server:
        ...     httpx.get(f"{server.url}/v1/prices", params={"sku": "SKU-00001"})
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        sock: socket.socket | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 10.0,
        **config: Any,
    ) -> None:
        self.app = app
        self.sock = sock if sock is not None else bind_socket(host, port)
        self.url = url_of(self.sock)
        self.server = EmbeddedServer(server_config(app, **config))
        self._startup_timeout = startup_timeout
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def launch(self) -> None:
        """Start the server thread without waiting; see ``wait_started``."""
        if self._thread is not None:
            raise RuntimeError("the server was already started")
        self._thread = threading.Thread(target=self._run, name=f"uvicorn {self.url}", daemon=True)
        self._thread.start()

    def wait_started(self) -> None:
        """Block until the server accepts connections; raise if it failed to start."""
        if self._thread is None:
            raise RuntimeError("the server was not launched")
        deadline = time.monotonic() + self._startup_timeout
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"server {self.url} failed to start") from self._error
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server {self.url} did not start in {self._startup_timeout}s")
            time.sleep(0.005)

    def start(self) -> Self:
        self.launch()
        self.wait_started()
        return self

    def request_stop(self) -> None:
        """Ask the server to finish (it looks every 0.1 s); see ``join``."""
        release_hangs(self.app)
        self.server.should_exit = True

    def join(self, timeout: float = 10.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
        # Never served (or died early): uvicorn did not close it for us.
        self.sock.close()

    def stop(self, timeout: float = 10.0) -> None:
        self.request_stop()
        self.join(timeout)

    def _run(self) -> None:
        try:
            with asyncio.Runner(loop_factory=self.server.config.get_loop_factory()) as runner:
                runner.run(self.server.serve(sockets=[self.sock]))
        except BaseException as exc:  # SystemExit on a failed startup included
            self._error = exc

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


async def serve_together(
    bindings: Sequence[tuple[ASGIApp, socket.socket]],
    *,
    stop: asyncio.Event | None = None,
    started: asyncio.Event | None = None,
    handle_signals: bool = True,
    **config: Any,
) -> None:
    """Serve several apps concurrently in the running loop until ``stop`` is set.

    Returns once every server has shut down; also when one of them ends on
    its own (its error, if any, is raised). The sockets are closed on return.

    Args:
        bindings: each app with the socket it is served on.
        stop: set it to shut all servers down.
        started: set once every server accepts connections.
        handle_signals: on the main thread, SIGINT and SIGTERM set ``stop``
            (a second one forces the exit); the host's handlers are restored after.
        **config: ``uvicorn.Config`` options over ``QUIET_CONFIG``, for every server.
    """
    stop = stop if stop is not None else asyncio.Event()
    servers = [EmbeddedServer(server_config(app, **config)) for app, _ in bindings]
    tasks = [
        asyncio.create_task(server.serve(sockets=[sock]), name=f"uvicorn {url_of(sock)}")
        for server, (_, sock) in zip(servers, bindings, strict=True)
    ]
    helpers: list[asyncio.Task[Any]] = [asyncio.create_task(stop.wait())]
    if started is not None:
        helpers.append(asyncio.create_task(_announce_started(servers, tasks, started)))

    def on_signal() -> None:
        # The first signal stops gracefully, a second one does not wait.
        if stop.is_set():
            for server in servers:
                server.force_exit = True
        stop.set()

    # Handled until the end, so a signal during the shutdown is not a KeyboardInterrupt.
    with _signals_handled(on_signal, enabled=handle_signals):
        try:
            await asyncio.wait([helpers[0], *tasks], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for app, _ in bindings:
                release_hangs(app)
            for server in servers:
                server.should_exit = True
            for helper in helpers:
                helper.cancel()
            results = await asyncio.gather(*tasks, *helpers, return_exceptions=True)
            for _, sock in bindings:
                sock.close()
    for result in results[: len(tasks)]:
        if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
            raise result


async def _announce_started(
    servers: Sequence[uvicorn.Server], tasks: Sequence[asyncio.Task[None]], started: asyncio.Event
) -> None:
    while not all(server.started for server in servers):
        if any(task.done() for task in tasks):
            return
        await asyncio.sleep(0.005)
    started.set()


@contextlib.contextmanager
def _signals_handled(callback: Callable[[], None], *, enabled: bool) -> Iterator[None]:
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    previous: dict[signal.Signals, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(sig)
        try:
            loop.add_signal_handler(sig, callback)
        except (NotImplementedError, RuntimeError):  # not on this platform / loop
            continue
        previous[sig] = handler
    try:
        yield
    finally:
        for sig, handler in previous.items():
            loop.remove_signal_handler(sig)
            # remove_signal_handler leaves SIG_DFL; put back what the host had.
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def declared_port(declaration: Declaration) -> int:
    """The port of a declaration's ``base_url`` (0 when it names none: any free port)."""
    parts = urlsplit(declaration.base_url)
    return parts.port or 0


class Simulators:
    """A simulator for each code plugin and each declared bolt-on, each on its own socket.

    Construction binds the sockets (port 0 picks a free one), so the URLs
    are known before serving. Serve them in background threads
    (``start_in_thread``, for tests and benchmarks) or in the running loop
    (``serve``, or ``bindings()`` handed to ``serve_together`` along with
    the gateway, for ``gateway demo``).

    Args:
        secrets: by service name, the credential each simulator checks. Every
            code plugin needs one; a declared bolt-on missing here checks its
            declaration's ``secret_env`` variable (``None``: any call passes).
        ports: by service name, the port to listen on (default 0: a free one;
            ``declared_port`` gives the port of a declaration's ``base_url``).
        seeded_orders: how many orders the core was seeded with (Shipping
            answers for the shipped ones among them).
        declarations: the declared bolt-ons; each gets a simulator generated
            from its contract (``simulators.declared``) in ``declared[name]``.
        plugins: the code plugins (default: the registered ones).

    A code plugin's simulator is ``built_in[name]``, also ``sims.<name>``.

    Example:
        >>> with Simulators.start_in_thread(
        ...     secrets={"pricing": "p", "crm": "c", "shipping": "s"}
        ... ) as sims:
        ...     sims.pricing.url, sims.crm.state.events(), sims.shipping.state.created()
    """

    def __init__(
        self,
        *,
        secrets: Mapping[str, str | None],
        ports: Mapping[str, int] | None = None,
        seeded_orders: int = 0,
        host: str = "127.0.0.1",
        seed: int = 0,
        declarations: Sequence[Declaration] = (),
        plugins: Sequence[BoltOnPlugin] = BUILT_IN,
    ) -> None:
        ports = ports or {}
        names = [plugin.name for plugin in plugins] + [d.name for d in declarations]
        plugin_secrets = {p.name: s for p in plugins if (s := secrets.get(p.name)) is not None}
        missing = [plugin.name for plugin in plugins if plugin.name not in plugin_secrets]
        if missing:
            raise ValueError(f"no secret for the simulator of {', '.join(missing)}")
        sockets: dict[str, socket.socket] = {}
        try:
            for name in names:
                sockets[name] = bind_socket(host, ports.get(name, 0))
        except OSError:
            for sock in sockets.values():
                sock.close()
            raise
        #: One simulator per code plugin, by its name.
        self.built_in: dict[str, ServedApp[Any]] = {}
        for plugin in plugins:
            app, state = plugin.build_simulator(
                plugin_secrets[plugin.name], seed=seed, seeded_orders=seeded_orders
            )
            self.built_in[plugin.name] = ServedApp(app, sockets[plugin.name], state)
        #: One simulator per declared bolt-on, by its name, generated from its contract.
        self.declared: dict[str, ServedApp[SimulatorState]] = {}
        for declaration in declarations:
            state = SimulatorState(declaration.name, seed=seed)
            secret = secrets.get(declaration.name, declaration.secret)
            self.declared[declaration.name] = ServedApp(
                create_declared_app(declaration, secret=secret, state=state),
                sockets[declaration.name],
                state,
            )

    def __getattr__(self, name: str) -> ServedApp[Any]:
        # ``sims.pricing``: a code plugin's simulator by its name.
        built_in = self.__dict__.get("built_in")
        if built_in is not None and name in built_in:
            served: ServedApp[Any] = built_in[name]
            return served
        raise AttributeError(name)

    @property
    def all(self) -> tuple[ServedApp[Any], ...]:
        """Every simulator: the code plugins', then the declared ones."""
        return (*self.built_in.values(), *self.declared.values())

    def bindings(self) -> list[tuple[ASGIApp, socket.socket]]:
        """Each app with its socket, for ``serve_together``."""
        return [(served.app, served.sock) for served in self.all]

    def reset(self) -> None:
        """Reset every simulator's counters, logs and knobs."""
        for served in self.all:
            served.state.reset()

    def close(self) -> None:
        """Close the sockets of simulators that were never served."""
        for served in self.all:
            served.sock.close()

    async def serve(
        self,
        *,
        stop: asyncio.Event | None = None,
        started: asyncio.Event | None = None,
        handle_signals: bool = True,
    ) -> None:
        """Serve all of them in the running loop until ``stop`` is set (or a signal)."""
        await serve_together(
            self.bindings(), stop=stop, started=started, handle_signals=handle_signals, ws="none"
        )

    @classmethod
    @contextlib.contextmanager
    def start_in_thread(cls, **options: Any) -> Iterator[Simulators]:
        """Serve all of them in background threads for the ``with`` block (``options``:
        those of the constructor)."""
        sims = cls(**options)
        servers = [BackgroundServer(s.app, sock=s.sock, ws="none") for s in sims.all]
        try:
            for server in servers:
                server.launch()
            for server in servers:
                server.wait_started()
            yield sims
        finally:
            # Ask all first, then wait: they shut down in parallel.
            for server in servers:
                server.request_stop()
            for server in servers:
                server.join()


__all__ = [
    "QUIET_CONFIG",
    "BackgroundServer",
    "EmbeddedServer",
    "ServedApp",
    "Simulators",
    "bind_socket",
    "declared_port",
    "release_hangs",
    "serve_together",
    "server_config",
    "url_of",
]
