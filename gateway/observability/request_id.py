"""Pure-ASGI middleware that gives every request an id and returns it.

An incoming ``X-Request-ID`` is kept when it looks sane (so a caller can
follow its own id through our logs and the bolt-ons'); otherwise a new one
is generated. Non-HTTP scopes other than websockets pass straight through.

The id also lives in a context variable for the request's duration:
``RequestIdFilter`` puts it on every log record written while the request
runs (a bolt-on's warning, a masked error), not only on the access line.
"""

from __future__ import annotations

import logging
import random
import re
from contextvars import ContextVar

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "x-request-id"
_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


#: The id of the request being served (``None`` outside a request).
current_request_id: ContextVar[str | None] = ContextVar("gateway_request_id", default=None)


def new_request_id() -> str:
    """32 hex digits, like a uuid4's: an id to correlate by, not a secret.

    From ``random`` rather than ``os.urandom``: a system call per request cost
    about 10 % of a cached answer's CPU. The module's generator is reseeded in
    every forked worker, so workers never repeat each other's ids.
    """
    return f"{random.getrandbits(128):032x}"


def request_id() -> str:
    """The current request's id, or a fresh one outside a request."""
    return current_request_id.get() or new_request_id()


class RequestIdFilter(logging.Filter):
    """Stamps each log record with the current request's id (unless it already has one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            current = current_request_id.get()
            if current is not None:
                record.request_id = current
        return True


class RequestIdMiddleware:
    """Put ``request_id`` into ``scope["state"]`` and the ``X-Request-ID`` response header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = ""
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = incoming if _SANE.match(incoming) else new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        token = current_request_id.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id if scope["type"] == "http" else send)
        finally:
            current_request_id.reset(token)
