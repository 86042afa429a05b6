"""Retry-After values (RFC 9110, 10.2.3): delay-seconds or an HTTP-date."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.http import parse_retry_after

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, None),
        ("1", 1.0),
        ("0.5", 0.5),
        ("-3", 0.0),
        ("soon", None),
        ("", None),
        ("Fri, 27 Nov 2026 12:00:30 GMT", 30.0),
        ("Fri, 27 Nov 2026 11:00:00 GMT", 0.0),  # already past: no wait
    ],
)
def test_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == seconds
