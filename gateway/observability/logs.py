"""Logging set-up: JSON lines in production, readable lines in development.

Logs must not grow without bound under abuse or an outage: a request writes
one access line (repeated error codes folded, ``FORBIDDEN*42``), and a
warning or error that repeats (Redis down: one per request; the same bug
hit again) is written once per ``RepeatFilter.window`` seconds, the next
one saying how many were held back.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

import orjson

from gateway.observability.request_id import RequestIdFilter
from gateway.observability.settings import ObservabilitySettings

_STANDARD = set(vars(logging.makeLogRecord({})))
#: uvicorn's terminal colours: noise in a JSON line.
_DROPPED = {"color_message"}
#: Libraries whose INFO lines repeat what the access log says (httpx logs every call's URL).
_QUIET_LIBRARIES = ("httpx", "httpcore")


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with any ``extra=`` fields of the record."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in _DROPPED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """Readable lines for a terminal; a record's request and client ids are appended."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = [
            f"{key}={value}"
            for key, value in (
                ("request", getattr(record, "request_id", None)),
                ("client", getattr(record, "client_id", None)),
            )
            if value
        ]
        return f"{line} [{' '.join(ids)}]" if ids else line


#: ``extra=`` of a record an operator must see every time (a configuration reload's outcome).
EVERY_TIME: dict[str, object] = {"every_time": True}


class RepeatFilter(logging.Filter):
    """Lets a repeated warning or error through once per ``window`` seconds.

    Records are alike when they come from the same logger, level and message
    template (and, with a traceback, the same exception type and place), so
    different bugs are never folded together. The first record after a
    quiet window carries ``repeated``: how many were held back, also added
    to its message.

    Example:
        >>> handler = logging.StreamHandler()
        >>> handler.addFilter(RepeatFilter(window=60))
    """

    def __init__(self, window: float = 60.0) -> None:
        super().__init__()
        self.window = window
        self._seen: dict[tuple[Any, ...], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or getattr(record, "every_time", False):
            return True
        key = _likeness(record)
        now = time.monotonic()
        with self._lock:
            first, held = self._seen.get(key, (None, 0))
            if first is not None and now - first < self.window:
                self._seen[key] = (first, held + 1)
                return False
            self._seen[key] = (now, 0)
            if len(self._seen) > 10_000:  # many distinct messages: forget the oldest half
                for stale in sorted(self._seen, key=lambda k: self._seen[k][0])[:5_000]:
                    del self._seen[stale]
        if held:
            record.repeated = held
            record.msg = f"{record.msg} ({held} more like this in the last {self.window:g} s)"
        return True


def _likeness(record: logging.LogRecord) -> tuple[Any, ...]:
    place: tuple[Any, ...] = ()
    if record.exc_info and record.exc_info[1] is not None:
        error = record.exc_info[1]
        frame = error.__traceback__
        while frame is not None and frame.tb_next is not None:
            frame = frame.tb_next
        where = (frame.tb_frame.f_code.co_filename, frame.tb_lineno) if frame else ()
        place = (type(error).__name__, *where)
    return (record.name, record.levelno, str(record.msg), *place)


def log_format(settings: ObservabilitySettings) -> str:
    """``json`` or ``text``: the setting, else JSON in production and text in development."""
    if settings.log_format is not None:
        return settings.log_format
    return "json" if settings.env == "production" else "text"


def formatter_for(settings: ObservabilitySettings) -> logging.Formatter:
    if log_format(settings) == "json":
        return JsonFormatter()
    return TextFormatter()


def configure_logging(settings: ObservabilitySettings) -> None:
    """Send every log record to stderr in the configured format and level."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter_for(settings))
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RepeatFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for name in _QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    # uvicorn's own loggers keep their handlers unless told to use ours.
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
