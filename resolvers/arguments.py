"""What a client's value must be before it may reach the core: one place, both databases.

A value the core cannot take is the client's mistake, not an outage of the
core: PostgreSQL refuses a NUL character in text (SQLite stores it), and no
key column holds a number beyond 64 bits. Checked here, before the
database is asked, the same way on both, each refusal naming the argument.
Queries raise ``UserInputError`` (``BAD_USER_INPUT``); mutations report
``problem()`` as a ``VALIDATION`` user error of their payload.

Example:
    >>> key("C-000042", "accountNumber")
    'C-000042'
    >>> problem("a\\x00b", max_length=10)
    'must not contain the NUL character (U+0000)'
"""

from __future__ import annotations

import re

from gateway.errors import UserInputError
from gateway.writes.use_case import MAX_KEY_LENGTH, text_problem

#: Longest free text searched for or compared (a name filter, a category).
MAX_TEXT_LENGTH = 200
#: The largest primary key: the core's ids are 64-bit integers.
MAX_PK = 2**63 - 1

_DIGITS = re.compile(r"[0-9]{1,19}")


#: Why a text cannot be sent to the core: the write side's rule, one definition for both.
problem = text_problem


def key(value: str, field: str) -> str:
    """A business key argument, checked (``field`` names it in the error)."""
    return text(value, field, max_length=MAX_KEY_LENGTH)


def text(value: str, field: str, *, max_length: int = MAX_TEXT_LENGTH) -> str:
    """A text argument, checked (``field`` names it in the error)."""
    found = problem(value, max_length=max_length)
    if found is not None:
        raise UserInputError(field, found)
    return value


def optional_text(
    value: str | None, field: str, *, max_length: int = MAX_TEXT_LENGTH
) -> str | None:
    return None if value is None else text(value, field, max_length=max_length)


def primary_key(digits: str) -> int | None:
    """The primary key written as ``digits`` (ASCII, 1 to ``MAX_PK``), or ``None``."""
    if not _DIGITS.fullmatch(digits):
        return None
    pk = int(digits)
    return pk if 1 <= pk <= MAX_PK else None


__all__ = [
    "MAX_KEY_LENGTH",
    "MAX_PK",
    "MAX_TEXT_LENGTH",
    "key",
    "optional_text",
    "primary_key",
    "problem",
    "text",
]
