"""Bounds on a request's head (request line and headers), where the server reads it.

uvicorn parses the head before the app sees a byte of it, and how much it
buffers depends on the parser: httptools (picked when installed) has no
bound at all, so a 128 MiB header was read whole (21.7 s) before its 401;
h11 stops at ``h11_max_incomplete_event_size`` but answers 400. An ASGI
middleware comes too late for that, so two layers:

- ``HeadLimitedHttpTools`` and ``HeadLimitedH11``, the parsers uvicorn runs
  (``gateway serve`` picks them with ``http=``), count the reads of a head
  still unfinished and answer ``431 Request Header Fields Too Large`` (then
  close) once it passes ``max_header_bytes``: at most that plus one read
  (256 KiB) is ever buffered. The cap travels to worker processes in uvicorn's ``Config``
  as ``h11_max_incomplete_event_size`` (the one field it has for "the
  largest unfinished head").
- ``HeaderLimits``, pure ASGI, checks a parsed head exactly: its size
  (request line and headers) and its number of headers (``max_headers``).
  A head that arrived whole within one read is refused here, also with 431,
  and so is any head under a server other than ``gateway serve`` (tests,
  a hand-rolled uvicorn command).
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

import h11
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("gateway.http.server")

DEFAULT_MAX_HEADER_BYTES = 32 * 1024
#: What one read of the event loop may add to a head before it is counted.
READ_SIZE = 256 * 1024

_REASON = b"Request Header Fields Too Large"
_BODY = b"the request line and headers are too large"
_RESPONSE_431 = b"".join(
    [
        b"HTTP/1.1 431 " + _REASON + b"\r\n",
        b"content-type: text/plain; charset=utf-8\r\n",
        b"content-length: " + str(len(_BODY)).encode() + b"\r\n",
        b"connection: close\r\n\r\n",
        _BODY,
    ]
)


def _cap(config: Any) -> int:
    cap = getattr(config, "h11_max_incomplete_event_size", None)
    return cap if isinstance(cap, int) and cap > 0 else DEFAULT_MAX_HEADER_BYTES


class HeadLimitedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol, answering 431 to a head past the cap.

    httptools keeps an unfinished header value in memory until it ends, and
    calls back only then: the reads are counted while a head is open, and
    the request line is measured as it is parsed (httptools answers a long
    one 400 otherwise). A head that arrived whole is measured exactly by
    ``HeaderLimits``; measuring each header here too cost a Python call per
    header on every request and bounded nothing more (this protocol against
    plain httptools was 3-4 % of a served cached answer before).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._max_head = _cap(self.config)
        self._in_head = False
        self._read_bytes = 0  # reads that held nothing but an unfinished head
        self._url_bytes = 0  # the request target so far (httptools may pass it in parts)
        self._too_large = False

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._in_head and not self.transport.is_closing():
            self._read_bytes += len(data)
            if self._read_bytes > self._max_head:
                _refuse(self.transport, self._max_head)

    def on_message_begin(self) -> None:
        self._in_head, self._read_bytes, self._url_bytes = True, 0, 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        # With the method, "HTTP/1.1" and the line's end: 16 bytes at most.
        self._url_bytes += len(url)
        if self._url_bytes + 16 > self._max_head:
            self._too_large = True
            # Stops the parser; uvicorn answers the error with send_400_response.
            raise ValueError("request line too long")
        super().on_url(url)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        if self._too_large:
            _refuse(self.transport, self._max_head)
        else:
            super().send_400_response(msg)


class HeadLimitedH11(H11Protocol):
    """uvicorn's h11 protocol, answering 431 (not h11's 400) to a head past the cap.

    A head that arrived whole in one read is measured by ``HeaderLimits``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._max_head = _cap(self.config)
        self._read_bytes = 0
        # h11's own bound, one read above ours, so that ours answers first.
        self.conn = h11.Connection(h11.SERVER, self._max_head + READ_SIZE)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self._read_bytes += len(data)  # the head is still unfinished
            if self._read_bytes > self._max_head:
                _refuse(self.transport, self._max_head)
        else:
            self._read_bytes = 0


def _refuse(transport: Any, cap: int) -> None:
    log.warning("refused a request whose head exceeds %d bytes (431)", cap)
    transport.write(_RESPONSE_431)
    transport.close()


def protocol_class(implementation: str) -> str:
    """The import string of the head-limited protocol for ``auto``, ``httptools`` or ``h11``.

    ``auto`` follows uvicorn's own choice: httptools when it is installed.
    """
    if implementation == "auto":
        implementation = "httptools" if importlib.util.find_spec("httptools") else "h11"
    name = "HeadLimitedHttpTools" if implementation == "httptools" else "HeadLimitedH11"
    return f"{__name__}:{name}"


class HeaderLimits:
    """Pure ASGI: a request whose parsed head is too large or has too many headers gets 431.

    Args:
        app: the app to guard.
        max_bytes: the request line and all headers together.
        max_headers: how many header lines.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, max_headers: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_headers = max_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        problem = self._problem(scope)
        if problem is None:
            await self.app(scope, receive, send)
            return
        log.warning("refused a request: %s (431)", problem)
        if scope["type"] == "websocket":
            # Before the handshake is accepted, a close is answered with 403.
            await send({"type": "websocket.close", "code": 1008})
            return
        body = problem.encode()
        start: Message = {
            "type": "http.response.start",
            "status": 431,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
        await send(start)
        await send({"type": "http.response.body", "body": body})

    def _problem(self, scope: Scope) -> str | None:
        headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        if len(headers) > self.max_headers:
            return f"{len(headers)} headers; at most {self.max_headers} are accepted"
        # "METHOD target HTTP/1.1\r\n" and "name: value\r\n" per header.
        size = len(scope.get("method", "GET")) + len(scope.get("raw_path") or b"") + 12
        size += len(scope.get("query_string") or b"") + 1
        size += sum(len(name) + len(value) + 4 for name, value in headers)
        if size > self.max_bytes:
            return f"the request line and headers are {size} bytes; at most {self.max_bytes}"
        return None


__all__ = [
    "DEFAULT_MAX_HEADER_BYTES",
    "HeadLimitedH11",
    "HeadLimitedHttpTools",
    "HeaderLimits",
    "protocol_class",
]
