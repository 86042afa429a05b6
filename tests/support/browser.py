"""Drive Debian's headless Chromium over the DevTools protocol, for end-to-end tests.

No WebDriver and no download: Chromium is started with
``--remote-debugging-port=0``, announces its port in ``DevToolsActivePort``
in its (temporary) profile, and is driven over one websocket with the
``websockets`` package. The whole process group is killed on exit.

Typical use::

    with serve(app) as base_url:
        text = run_query_in_graphiql(f"{base_url}/graphql", "{ hello }")
        screenshot(f"{base_url}/graphql", "/tmp/graphiql.png")

or, for several checks on one browser::

    with Chromium() as browser, browser.open(url) as page:
        page.set_graphiql_query("{ hello }")
        page.click(".graphiql-execute-button")
        page.graphiql_response(contains="hello")
        assert not page.off_machine_requests()
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from starlette.types import ASGIApp
from uvicorn.config import LifespanType
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

CHROMIUM = Path("/usr/bin/chromium")
DEFAULT_TIMEOUT = 15.0

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # we run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
    # Anything that is not loopback fails to resolve at once instead of
    # hanging on a network this machine does not have.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
)

# Installed before any page script: records CSP violations (DevTools-injected
# scripts are exempt from the page's CSP).
_RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(
    e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " +
    e.sourceFile + ":" + e.lineNumber
  );
});
"""


class BrowserError(Exception):
    """Chromium did not start, a DevTools call failed, or a wait timed out."""


def chromium_available() -> bool:
    return CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)


class _DevTools:
    """One websocket to the browser; pages are flattened sessions on it."""

    def __init__(self, ws: ClientConnection, *, timeout: float) -> None:
        self.timeout = timeout
        self._ws = ws
        self._next_id = 0
        self.events: dict[str, list[tuple[str, dict[str, Any]]]] = {}

    def _dispatch(self, raw: str | bytes) -> dict[str, Any] | None:
        message: dict[str, Any] = json.loads(raw)
        if "method" in message:
            session = message.get("sessionId", "")
            self.events.setdefault(session, []).append(
                (message["method"], message.get("params", {}))
            )
            return None
        return message

    def pump(self) -> None:
        """Take in the events that have already arrived, without waiting."""
        while True:
            try:
                raw = self._ws.recv(timeout=0)
            except TimeoutError:
                return
            self._dispatch(raw)

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session_id: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        self._next_id += 1
        call_id = self._next_id
        message: dict[str, Any] = {"id": call_id, "method": method, "params": params or {}}
        if session_id:
            message["sessionId"] = session_id
        deadline = time.monotonic() + (timeout or self.timeout)
        try:
            self._ws.send(json.dumps(message))
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise BrowserError(f"DevTools {method}: no answer in time")
                try:
                    reply = self._dispatch(self._ws.recv(timeout=remaining))
                except TimeoutError:
                    continue
                if reply is None or reply.get("id") != call_id:
                    continue
                if "error" in reply:
                    raise BrowserError(f"DevTools {method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
        except ConnectionClosed as exc:
            raise BrowserError(f"DevTools {method}: the browser closed the connection") from exc


@dataclass
class Page:
    """One browser tab, with what it requested and what went wrong in it."""

    devtools: _DevTools
    session_id: str
    target_id: str
    timeout: float
    _closed: bool = field(default=False, repr=False)

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.devtools.call(method, params, session_id=self.session_id)

    # --- what happened ------------------------------------------------------

    def events(self, method: str) -> list[dict[str, Any]]:
        self.devtools.pump()
        return [p for m, p in self.devtools.events.get(self.session_id, []) if m == method]

    def requested_urls(self) -> list[str]:
        """Every URL the page asked for: documents, assets, fetches, websockets."""
        urls = [e["request"]["url"] for e in self.events("Network.requestWillBeSent")]
        urls += [e["url"] for e in self.events("Network.webSocketCreated")]
        return urls

    def off_machine_requests(self) -> list[str]:
        """Requested URLs whose host is not this machine (``data:`` etc. are local)."""
        return [url for url in self.requested_urls() if not _is_local_url(url)]

    def failed_requests(self) -> list[str]:
        by_id = {
            e["requestId"]: e["request"]["url"] for e in self.events("Network.requestWillBeSent")
        }
        failed = [
            f"{by_id.get(e['requestId'], '?')}: {e.get('errorText', '')}"
            for e in self.events("Network.loadingFailed")
        ]
        failed += [
            f"{e['response']['url']}: HTTP {e['response']['status']}"
            for e in self.events("Network.responseReceived")
            if e["response"]["status"] >= 400
        ]
        return failed

    def errors(self) -> list[str]:
        """Uncaught exceptions, ``console.error`` calls and browser error logs."""
        found = [
            e["exceptionDetails"].get("exception", {}).get("description")
            or e["exceptionDetails"].get("text", "exception")
            for e in self.events("Runtime.exceptionThrown")
        ]
        found += [
            " ".join(str(a.get("value", a.get("description", ""))) for a in e.get("args", []))
            for e in self.events("Runtime.consoleAPICalled")
            if e.get("type") == "error"
        ]
        found += [
            e["entry"].get("text", "")
            for e in self.events("Log.entryAdded")
            if e["entry"].get("level") == "error"
        ]
        return found

    def csp_violations(self) -> list[str]:
        return list(self.evaluate("window.__cspViolations || []"))

    # --- doing things -------------------------------------------------------

    def navigate(self, url: str) -> None:
        result = self.call("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise BrowserError(f"cannot load {url}: {result['errorText']}")
        self.wait_for("document.readyState === 'complete'")

    def evaluate(self, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"script failed: {text}")
        return result["result"].get("value")

    def wait_for(self, expression: str, *, timeout: float | None = None) -> Any:
        """Evaluate ``expression`` until it is truthy; return its value."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(
                    f"timed out waiting for {expression!r}; page errors: {self.errors()}; "
                    f"failed requests: {self.failed_requests()}"
                )
            time.sleep(0.05)

    def click(self, selector: str) -> None:
        """A real mouse click (press and release) in the middle of the element."""
        box = self.wait_for(
            f"""(() => {{
              const el = document.querySelector({json.dumps(selector)});
              if (!el) return null;
              const r = el.getBoundingClientRect();
              return r.width && r.height ? {{x: r.x + r.width / 2, y: r.y + r.height / 2}} : null;
            }})()"""
        )
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": box["x"], "y": box["y"], "button": "left", "clickCount": 1},
            )

    def screenshot(self, path: str | Path) -> Path:
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        target = Path(path)
        target.write_bytes(base64.b64decode(data))
        return target

    # --- GraphiQL -----------------------------------------------------------

    def wait_for_graphiql(self) -> None:
        """Wait until GraphiQL has rendered its editors and loaded the schema."""
        self.wait_for(
            "!!document.querySelector('.graphiql-query-editor .CodeMirror')"
            " && !!document.querySelector('.graphiql-execute-button')"
        )

    def set_graphiql_query(self, query: str) -> None:
        """Replace the query editor's text, as typing would (GraphiQL sees the edit)."""
        self.wait_for_graphiql()
        self.evaluate(
            "document.querySelector('.graphiql-query-editor .CodeMirror')"
            f".CodeMirror.setValue({json.dumps(query)})"
        )
        # GraphiQL parses the text after a short debounce and runs what it parsed
        # (subscriptions go to the websocket only once it sees one): wait for that.
        self.wait_for(
            "(() => {"
            "  const cm = document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror;"
            "  const ast = cm.documentAST;"
            f"  return !!ast && !!ast.loc && ast.loc.source.body === {json.dumps(query)};"
            "})()"
        )

    def graphiql_response(
        self, *, contains: str | None = None, timeout: float | None = None
    ) -> str:
        """The response pane's text, once it is non-empty (and has ``contains``)."""
        check = f".includes({json.dumps(contains)})" if contains else ".trim().length > 0"
        return str(
            self.wait_for(
                "(() => {"
                "  const el = document.querySelector('.graphiql-response .CodeMirror');"
                "  const text = el ? el.CodeMirror.getValue() : '';"
                f"  return text{check} ? text : null;"
                "})()",
                timeout=timeout,
            )
        )

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            with contextlib.suppress(BrowserError):
                self.devtools.call("Target.closeTarget", {"targetId": self.target_id})


class Chromium:
    """A headless Chromium in a temporary profile, killed (with its children) on exit.

    Example:
        >>> with Chromium() as browser, browser.open("http://127.0.0.1:8000/") as page:
        ...     page.screenshot("/tmp/page.png")
    """

    def __init__(
        self,
        *,
        executable: Path = CHROMIUM,
        timeout: float = DEFAULT_TIMEOUT,
        window_size: tuple[int, int] = (1280, 800),
    ) -> None:
        self.executable = executable
        self.timeout = timeout
        self.window_size = window_size
        self._stack = contextlib.ExitStack()
        self._process: subprocess.Popen[bytes] | None = None
        self._devtools: _DevTools | None = None

    def __enter__(self) -> Chromium:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()

    def _start(self) -> None:
        if not self.executable.is_file():
            raise BrowserError(f"{self.executable} is not installed")
        profile = Path(
            self._stack.enter_context(
                tempfile.TemporaryDirectory(prefix="chromium-", ignore_cleanup_errors=True)
            )
        )
        # The log lives beside the profile, so it can be read after the profile is gone.
        log_path = profile.parent / f"{profile.name}.log"
        self._stack.callback(log_path.unlink, missing_ok=True)
        log = self._stack.enter_context(log_path.open("wb"))
        width, height = self.window_size
        self._process = subprocess.Popen(
            [
                str(self.executable),
                *CHROMIUM_FLAGS,
                f"--window-size={width},{height}",
                f"--user-data-dir={profile}",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # its own process group, so we can kill it whole
        )
        self._stack.callback(self._kill)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while True:
            if self._process.poll() is not None:
                log.flush()
                tail = log_path.read_bytes()[-2000:].decode(errors="replace")
                raise BrowserError(f"chromium exited with {self._process.returncode}: {tail}")
            lines = port_file.read_text().splitlines() if port_file.exists() else []
            if len(lines) >= 2:
                break
            if time.monotonic() > deadline:
                raise BrowserError("chromium did not open its DevTools port in time")
            time.sleep(0.05)
        port, path = lines[0].strip(), lines[1].strip()
        ws = self._stack.enter_context(
            connect(
                f"ws://127.0.0.1:{port}{path}",
                open_timeout=self.timeout,
                close_timeout=2,
                max_size=None,
                proxy=None,
            )
        )
        self._devtools = _DevTools(ws, timeout=self.timeout)
        self._stack.callback(self._close_browser)  # runs before the websocket closes

    def _close_browser(self) -> None:
        # A clean exit lets Chromium reap its own renderers.
        if self._devtools is not None:
            with contextlib.suppress(BrowserError):
                self._devtools.call("Browser.close", timeout=2)

    def _kill(self) -> None:
        process = self._process
        if process is None:
            return
        try:
            process.wait(timeout=5 if self._devtools is not None else 0)
        except subprocess.TimeoutExpired:
            # Still unreaped, so the group id is still ours: kill the renderers too.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    @contextlib.contextmanager
    def open(self, url: str | None = None) -> Iterator[Page]:
        """A new tab recording network, console and CSP events; ``url`` is loaded."""
        devtools = self._devtools
        if devtools is None:
            raise BrowserError("the browser is not running (use it as a context manager)")
        target_id = devtools.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session_id = devtools.call(
            "Target.attachToTarget", {"targetId": target_id, "flatten": True}
        )["sessionId"]
        page = Page(devtools, session_id, target_id, self.timeout)
        try:
            for domain in ("Page", "Runtime", "Network", "Log"):
                page.call(f"{domain}.enable")
            page.call("Page.addScriptToEvaluateOnNewDocument", {"source": _RECORD_CSP_VIOLATIONS})
            if url is not None:
                page.navigate(url)
            yield page
        finally:
            page.close()


def _is_local_url(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in {"data", "blob", "about", "chrome", "devtools"}:
        return True
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run_query_in_graphiql(
    url: str,
    query: str,
    *,
    contains: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """Load GraphiQL at ``url``, run ``query`` with its run button, return the response pane.

    Raises ``BrowserError`` if the page sent any request off this machine or
    broke its Content-Security-Policy.
    """
    with Chromium(timeout=timeout) as browser, browser.open(url) as page:
        page.set_graphiql_query(query)
        page.click(".graphiql-execute-button")
        text = page.graphiql_response(contains=contains)
        problems = [
            *(f"request off the machine: {u}" for u in page.off_machine_requests()),
            *(f"CSP violation: {v}" for v in page.csp_violations()),
        ]
        if problems:
            raise BrowserError("; ".join(problems))
        return text


def screenshot(
    url: str,
    path: str | Path,
    *,
    ready: Callable[[Page], None] = Page.wait_for_graphiql,
    timeout: float = DEFAULT_TIMEOUT,
) -> Path:
    """Save a PNG of ``url`` once ``ready(page)`` returns (by default: GraphiQL drawn)."""
    with Chromium(timeout=timeout) as browser, browser.open(url) as page:
        ready(page)
        return page.screenshot(path)


# --- serving an app for the browser ---------------------------------------------


@contextlib.contextmanager
def serve(app: ASGIApp, *, lifespan: LifespanType = "auto", timeout: float = 10.0) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a loopback port in a thread; yield its base URL."""
    # IPPROTO_TCP, not 0: asyncio only sets TCP_NODELAY on sockets that say TCP.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    with sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(app, lifespan=lifespan, log_config=None, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True
        )
        thread.start()
        try:
            deadline = time.monotonic() + timeout
            while not server.started:
                if not thread.is_alive():
                    raise BrowserError("uvicorn stopped before it started")
                if time.monotonic() > deadline:
                    raise BrowserError("uvicorn did not start in time")
                time.sleep(0.01)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(timeout)
