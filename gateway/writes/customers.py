"""The customer use cases: ``create_customer`` and ``update_customer``.

Each validates its input (every problem reported at once, each naming its
field, ``input.email``), writes through the ``CoreWriter`` and announces
the committed write; state problems (a stale version, an unknown account)
come from the writer. Nothing is written when the outcome has errors.

Example:
    >>> outcome = await create_customer(
    ...     name="Acme", email=None, segment="smb", credit_limit=Decimal("1000.00"),
    ...     writer=writer, actor=Actor("anonymous", "createCustomer"), announce=announce,
    ... )
    >>> outcome.record.account_number, outcome.errors
    ('C-000051', [])
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict

from adapters.core.writes import Actor, CoreWriter, WriteErrorCode, WriteRejected
from adapters.records import CustomerRecord
from gateway.writes.use_case import Announce, Outcome, check_key, text_problem, write_through

#: NUMERIC(12,2): ten digits before the point.
MAX_MONEY = Decimal("9999999999.99")
MAX_NAME = 200
MAX_EMAIL = 254
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

CustomerOutcome = Outcome[CustomerRecord]
"""The customer after the write, or why nothing was written."""


class CustomerChanges(TypedDict, total=False):
    """The fields an update gives; a left-out key keeps its value.

    ``None`` is what the client sent: it clears ``email`` and is refused for
    the others.
    """

    name: str | None
    email: str | None
    segment: str | None
    credit_limit: Decimal | None


async def create_customer(
    *,
    name: str,
    email: str | None,
    segment: str,
    credit_limit: Decimal,
    writer: CoreWriter,
    actor: Actor,
    announce: Announce,
) -> CustomerOutcome:
    """Create a customer under the next account number (the core assigns it)."""
    errors: list[WriteRejected] = []
    check_name(name, errors)
    check_email(email, errors)
    check_money(credit_limit, errors, "input.creditLimit")
    if errors:
        return Outcome(errors=errors)
    return await write_through(
        writer.create_customer(
            actor, name=name.strip(), email=email, segment=segment, credit_limit=credit_limit
        ),
        announce,
    )


async def update_customer(
    *,
    account_number: str,
    expected_version: int,
    changes: CustomerChanges,
    writer: CoreWriter,
    actor: Actor,
    announce: Announce,
) -> CustomerOutcome:
    """Change the given fields, only if the customer is still at ``expected_version``."""
    errors: list[WriteRejected] = []
    check_key(account_number, errors, "input.accountNumber")
    if expected_version < 1:
        errors.append(
            WriteRejected(WriteErrorCode.VALIDATION, "must be at least 1", "input.expectedVersion")
        )
    values = _column_values(changes, errors)
    if not values and not errors:
        errors.append(
            WriteRejected(WriteErrorCode.VALIDATION, "give at least one field to change", "input")
        )
    if errors:
        return Outcome(errors=errors)
    return await write_through(
        writer.update_customer(
            actor, account_number=account_number, expected_version=expected_version, values=values
        ),
        announce,
    )


def _column_values(changes: CustomerChanges, errors: list[WriteRejected]) -> dict[str, Any]:
    """The core columns to set for ``changes``; each problem appended to ``errors``."""
    values: dict[str, Any] = {}
    if "name" in changes:
        name = changes["name"]
        check_name(name, errors)
        if isinstance(name, str):
            values["name"] = name.strip()
    if "email" in changes:
        check_email(changes["email"], errors)
        values["email"] = changes["email"]
    if "segment" in changes:
        if changes["segment"] is None:
            errors.append(
                WriteRejected(WriteErrorCode.VALIDATION, "must not be null", "input.segment")
            )
        values["segment"] = changes["segment"]
    if "credit_limit" in changes:
        credit_limit = changes["credit_limit"]
        if credit_limit is None:
            errors.append(
                WriteRejected(WriteErrorCode.VALIDATION, "must not be null", "input.creditLimit")
            )
        else:
            check_money(credit_limit, errors, "input.creditLimit")
        values["credit_limit"] = credit_limit
    return values


def check_name(name: Any, errors: list[WriteRejected], path: str = "input.name") -> None:
    """A customer name: not blank, at most ``MAX_NAME`` characters, no NUL."""
    if not isinstance(name, str) or not name.strip():
        errors.append(WriteRejected(WriteErrorCode.VALIDATION, "must not be empty", path))
    elif len(name) > MAX_NAME:
        errors.append(
            WriteRejected(WriteErrorCode.VALIDATION, f"at most {MAX_NAME} characters", path)
        )
    elif (found := text_problem(name, max_length=MAX_NAME)) is not None:
        errors.append(WriteRejected(WriteErrorCode.VALIDATION, found, path))


def check_email(email: Any, errors: list[WriteRejected], path: str = "input.email") -> None:
    """An email address, or ``None`` (no address)."""
    if email is None:
        return
    if (
        not isinstance(email, str)
        or len(email) > MAX_EMAIL
        or not _EMAIL.fullmatch(email)
        or text_problem(email, max_length=MAX_EMAIL) is not None
    ):
        errors.append(
            WriteRejected(WriteErrorCode.VALIDATION, "must be an email address (name@domain)", path)
        )


def check_money(value: Any, errors: list[WriteRejected], path: str) -> None:
    """An amount the core's NUMERIC(12,2) holds: finite, not negative, at most two places."""
    try:
        amount = Decimal(value)
        exponent = amount.as_tuple().exponent
    except (InvalidOperation, TypeError, ValueError):
        errors.append(WriteRejected(WriteErrorCode.VALIDATION, "must be a decimal amount", path))
        return
    if not amount.is_finite() or not isinstance(exponent, int):
        errors.append(WriteRejected(WriteErrorCode.VALIDATION, "must be a finite amount", path))
    elif amount < 0:
        errors.append(WriteRejected(WriteErrorCode.VALIDATION, "must not be negative", path))
    elif amount > MAX_MONEY:
        errors.append(
            WriteRejected(WriteErrorCode.VALIDATION, f"must be at most {MAX_MONEY}", path)
        )
    elif exponent < -2:
        errors.append(WriteRejected(WriteErrorCode.VALIDATION, "at most two decimal places", path))


__all__ = [
    "MAX_EMAIL",
    "MAX_MONEY",
    "MAX_NAME",
    "CustomerChanges",
    "CustomerOutcome",
    "check_email",
    "check_money",
    "check_name",
    "create_customer",
    "update_customer",
]
