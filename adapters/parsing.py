"""Strict conversions of bolt-on JSON values into record fields.

A bolt-on that answers with a malformed body is treated as unavailable:
the client sees UPSTREAM_UNAVAILABLE for its fields, never a crash.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any


class MalformedResponse(ValueError):
    """A bolt-on body does not honour its contract."""


def decimal(value: Any) -> Decimal:
    # Numbers arrive as strings ("129.00") or JSON numbers (target_margin_pct);
    # going through str keeps a JSON float's shortest repr, not its binary value.
    try:
        result = Decimal(str(value))
    except InvalidOperation as exc:
        raise MalformedResponse(f"not a decimal: {value!r}") from exc
    if not result.is_finite():
        raise MalformedResponse(f"not a finite decimal: {value!r}")
    return result


def utc_datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise MalformedResponse(f"not a date-time: {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MalformedResponse(f"not a date-time: {value!r}") from exc
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def optional_date(value: Any) -> date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedResponse(f"not a date: {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise MalformedResponse(f"not a date: {value!r}") from exc


def items(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise MalformedResponse("expected an object with an items list")
    return [item for item in body["items"] if isinstance(item, dict)]
