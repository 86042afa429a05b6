"""Logging set-up: JSON lines in production, readable lines in development."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

from gateway.observability.request_id import RequestIdFilter
from gateway.settings import Settings

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


def log_format(settings: Settings) -> str:
    """``json`` or ``text``: the setting, else JSON in production and text in development."""
    if settings.log_format is not None:
        return settings.log_format
    return "json" if settings.env == "production" else "text"


def formatter_for(settings: Settings) -> logging.Formatter:
    if log_format(settings) == "json":
        return JsonFormatter()
    return TextFormatter()


def configure_logging(settings: Settings) -> None:
    """Send every log record to stderr in the configured format and level."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter_for(settings))
    handler.addFilter(RequestIdFilter())
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
