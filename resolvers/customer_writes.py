"""Resolvers of the customer mutations: validate, write through, announce.

Each returns an ``Outcome``: the entity after the write, or the user errors
that explain why nothing was written. Input problems are all reported at
once, each naming its field (``input.email``); state problems come from the
writer (``adapters.core.writes.WriteRejected``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, TypeVar

import strawberry

from adapters.core.writes import (
    Actor,
    CoreWriter,
    WriteErrorCode,
    WriteRejected,
    WriteResult,
)
from adapters.errors import BackendError
from adapters.records import CustomerRecord
from gateway.context import Context
from gateway.writes.services import WriteServices
from resolvers.arguments import MAX_KEY_LENGTH, problem

T = TypeVar("T")

#: NUMERIC(12,2): ten digits before the point.
MAX_MONEY = Decimal("9999999999.99")
MAX_NAME = 200
MAX_EMAIL = 254
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

UNSET: Any = strawberry.UNSET
"""An input field the client left out (as opposed to one set to null)."""


@dataclass
class Outcome(Generic[T]):
    """A mutation's result: the entity, or why nothing was written."""

    record: T | None = None
    errors: list[WriteRejected] = field(default_factory=list)


def services(context: Context) -> WriteServices:
    if context.writes is None:
        raise RuntimeError("this context has no write services")
    return context.writes


def actor(context: Context, mutation: str) -> Actor:
    log = context.idempotency
    return Actor(
        client_id=context.client_id,
        mutation=mutation,
        request_id=context.request_id,
        fence=log.fence() if log is not None else None,
    )


def unavailable(exc: BackendError, what: str = "nothing was written") -> WriteRejected:
    return WriteRejected(
        WriteErrorCode.UPSTREAM_UNAVAILABLE, f"{exc.service} is unavailable; {what}"
    )


async def commit(context: Context, result: WriteResult[T]) -> Outcome[T]:
    """After the commit: publish events, wake the outbox, tell the change hooks."""
    await services(context).committed(result)
    return Outcome(result.record)


def check_key(value: str, errors: list[WriteRejected], path: str) -> None:
    """A business key the core can be asked about (no NUL, not over-long)."""
    found = problem(value, max_length=MAX_KEY_LENGTH)
    if found is not None:
        errors.append(WriteRejected(WriteErrorCode.VALIDATION, found, path))


def check_name(name: Any, errors: list[WriteRejected], path: str = "input.name") -> None:
    if not isinstance(name, str) or not name.strip():
        errors.append(WriteRejected(WriteErrorCode.VALIDATION, "must not be empty", path))
    elif len(name) > MAX_NAME:
        errors.append(
            WriteRejected(WriteErrorCode.VALIDATION, f"at most {MAX_NAME} characters", path)
        )
    elif (found := problem(name, max_length=MAX_NAME)) is not None:
        errors.append(WriteRejected(WriteErrorCode.VALIDATION, found, path))


def check_email(email: Any, errors: list[WriteRejected], path: str = "input.email") -> None:
    if email is None:
        return
    if (
        not isinstance(email, str)
        or len(email) > MAX_EMAIL
        or not _EMAIL.fullmatch(email)
        or problem(email, max_length=MAX_EMAIL) is not None
    ):
        errors.append(
            WriteRejected(WriteErrorCode.VALIDATION, "must be an email address (name@domain)", path)
        )


def check_money(value: Any, errors: list[WriteRejected], path: str) -> None:
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


async def create_customer(
    context: Context, *, name: str, email: str | None, segment: str, credit_limit: Decimal
) -> Outcome[CustomerRecord]:
    errors: list[WriteRejected] = []
    check_name(name, errors)
    check_email(email, errors)
    check_money(credit_limit, errors, "input.creditLimit")
    if errors:
        return Outcome(errors=errors)
    writer: CoreWriter = services(context).writer
    try:
        result = await writer.create_customer(
            actor(context, "createCustomer"),
            name=name.strip(),
            email=email,
            segment=segment,
            credit_limit=credit_limit,
        )
    except WriteRejected as exc:  # its Idempotency-Key was taken over meanwhile
        return Outcome(errors=[exc])
    except BackendError as exc:
        return Outcome(errors=[unavailable(exc)])
    return await commit(context, result)


async def update_customer(
    context: Context,
    *,
    account_number: str,
    expected_version: int,
    name: Any = UNSET,
    email: Any = UNSET,
    segment: Any = UNSET,
    credit_limit: Any = UNSET,
) -> Outcome[CustomerRecord]:
    """Change the given fields (left-out ones keep their value; ``email: null`` clears it)."""
    errors: list[WriteRejected] = []
    values: dict[str, Any] = {}
    check_key(account_number, errors, "input.accountNumber")
    if expected_version < 1:
        errors.append(
            WriteRejected(WriteErrorCode.VALIDATION, "must be at least 1", "input.expectedVersion")
        )
    if name is not UNSET:
        check_name(name, errors)
        if isinstance(name, str):
            values["name"] = name.strip()
    if email is not UNSET:
        check_email(email, errors)
        values["email"] = email
    if segment is not UNSET:
        if segment is None:
            errors.append(
                WriteRejected(WriteErrorCode.VALIDATION, "must not be null", "input.segment")
            )
        values["segment"] = segment
    if credit_limit is not UNSET:
        if credit_limit is None:
            errors.append(
                WriteRejected(WriteErrorCode.VALIDATION, "must not be null", "input.creditLimit")
            )
        else:
            check_money(credit_limit, errors, "input.creditLimit")
        values["credit_limit"] = credit_limit
    if not values and not errors:
        errors.append(
            WriteRejected(WriteErrorCode.VALIDATION, "give at least one field to change", "input")
        )
    if errors:
        return Outcome(errors=errors)
    try:
        result = await services(context).writer.update_customer(
            actor(context, "updateCustomer"),
            account_number=account_number,
            expected_version=expected_version,
            values=values,
        )
    except WriteRejected as exc:
        return Outcome(errors=[exc])
    except BackendError as exc:
        return Outcome(errors=[unavailable(exc)])
    return await commit(context, result)


__all__ = [
    "UNSET",
    "Outcome",
    "actor",
    "check_key",
    "commit",
    "create_customer",
    "services",
    "unavailable",
    "update_customer",
]
