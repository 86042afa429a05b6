"""What every write use case shares: its outcome, how it commits, the key check.

A use case (``gateway.writes.customers``, ``gateway.writes.orders``) is a
plain async function: business input in, dependencies passed by keyword,
an ``Outcome`` back. It knows nothing of GraphQL; the resolvers build its
dependencies from the operation's context and turn the outcome into a
payload. Expected failures are data (``Outcome.errors``, each a
``WriteRejected`` naming its input path), never exceptions.

After a write commits, the use case hands the ``WriteResult`` to its
``announce`` dependency (``WriteServices.committed`` in the gateway: live
subscribers, the outbox dispatcher, the change hooks).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from adapters.core.writes import WriteErrorCode, WriteRejected, WriteResult
from adapters.errors import BackendError

T = TypeVar("T")

#: Longest business key (account number, SKU, order number, warehouse code)
#: accepted; the same bound as the queries' (``resolvers.arguments``).
MAX_KEY_LENGTH = 100

Announce = Callable[[WriteResult[Any]], Awaitable[None]]
"""Told about each committed write (``WriteServices.committed``); must not fail it."""


@dataclass
class Outcome(Generic[T]):
    """A use case's result: the entity after the write, or why nothing was written.

    Attributes:
        record: the entity as the core has it now; ``None`` with errors.
        errors: the user errors, every input problem at once, each naming
            its field (``input.email``).
    """

    record: T | None = None
    errors: list[WriteRejected] = field(default_factory=list)


def unavailable(exc: BackendError, what: str = "nothing was written") -> WriteRejected:
    """The user error of a backend that could not answer, saying what became of the write."""
    return WriteRejected(
        WriteErrorCode.UPSTREAM_UNAVAILABLE, f"{exc.service} is unavailable; {what}"
    )


async def write_through(
    write: Awaitable[WriteResult[T]],
    announce: Announce,
    *,
    unavailable_means: str = "nothing was written",
) -> Outcome[T]:
    """Run one core write; announce it when it committed, or say why it did not.

    Args:
        write: the ``CoreWriter`` call, not yet awaited.
        announce: told about the committed write.
        unavailable_means: what a core outage leaves behind, for the client.
    """
    try:
        result = await write
    except WriteRejected as exc:
        return Outcome(errors=[exc])
    except BackendError as exc:
        return Outcome(errors=[unavailable(exc, unavailable_means)])
    await announce(result)
    return Outcome(result.record)


def text_problem(value: str, *, max_length: int) -> str | None:
    """Why ``value`` cannot be sent to the core, or ``None`` when it can.

    PostgreSQL refuses a NUL character in text where SQLite stores it: such
    a value is the client's mistake, refused before the core is asked, the
    same way on both (``resolvers.arguments`` applies it to the queries' arguments).
    """
    if "\x00" in value:
        return "must not contain the NUL character (U+0000)"
    if len(value) > max_length:
        return f"must be at most {max_length} characters"
    return None


def check_key(value: str, errors: list[WriteRejected], path: str) -> None:
    """A business key the core can be asked about (no NUL, not over-long)."""
    found = text_problem(value, max_length=MAX_KEY_LENGTH)
    if found is not None:
        errors.append(WriteRejected(WriteErrorCode.VALIDATION, found, path))


def rejected(code: WriteErrorCode, message: str, path: str | None = None) -> Outcome[Any]:
    """An outcome of one user error: nothing was written."""
    return Outcome(errors=[WriteRejected(code, message, path)])


__all__ = [
    "MAX_KEY_LENGTH",
    "Announce",
    "Outcome",
    "check_key",
    "rejected",
    "text_problem",
    "unavailable",
    "write_through",
]
