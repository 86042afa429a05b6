"""Resolvers of the customer mutations: the use cases, given this operation's dependencies.

The rules live in ``gateway.writes.customers``; a resolver here only picks
the use case's dependencies out of the operation's ``Context`` (the core
writer, the caller as the audit trail's ``Actor``, the announcement of a
committed write) and turns GraphQL's "left out" into a missing key.
``schema.mutations`` maps the ``Outcome`` to the payload.

``services()`` and ``actor()`` are shared by the order mutations and the
subscriptions.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import strawberry

from adapters.core.writes import Actor
from gateway.context import Context
from gateway.writes import customers
from gateway.writes.customers import CustomerChanges, CustomerOutcome
from gateway.writes.services import WriteServices
from gateway.writes.use_case import Outcome

UNSET: Any = strawberry.UNSET
"""An input field the client left out (as opposed to one set to null)."""


def services(context: Context) -> WriteServices:
    """The write side of this operation's gateway.

    Raises:
        RuntimeError: the context was made without one (nothing there writes).
    """
    if context.writes is None:
        raise RuntimeError("this context has no write services")
    return context.writes


def actor(context: Context, mutation: str) -> Actor:
    """Who writes, through which mutation, fenced by the request's Idempotency-Key if any."""
    log = context.idempotency
    return Actor(
        client_id=context.client_id,
        mutation=mutation,
        request_id=context.request_id,
        fence=log.fence() if log is not None else None,
    )


async def create_customer(
    context: Context, *, name: str, email: str | None, segment: str, credit_limit: Decimal
) -> CustomerOutcome:
    """``createCustomer``: see ``gateway.writes.customers.create_customer``."""
    writes = services(context)
    return await customers.create_customer(
        name=name,
        email=email,
        segment=segment,
        credit_limit=credit_limit,
        writer=writes.writer,
        actor=actor(context, "createCustomer"),
        announce=writes.committed,
    )


async def update_customer(
    context: Context,
    *,
    account_number: str,
    expected_version: int,
    name: Any = UNSET,
    email: Any = UNSET,
    segment: Any = UNSET,
    credit_limit: Any = UNSET,
) -> CustomerOutcome:
    """``updateCustomer``: left-out fields keep their value; ``email: null`` clears it."""
    changes: CustomerChanges = {}
    if name is not UNSET:
        changes["name"] = name
    if email is not UNSET:
        changes["email"] = email
    if segment is not UNSET:
        changes["segment"] = segment
    if credit_limit is not UNSET:
        changes["credit_limit"] = credit_limit
    writes = services(context)
    return await customers.update_customer(
        account_number=account_number,
        expected_version=expected_version,
        changes=changes,
        writer=writes.writer,
        actor=actor(context, "updateCustomer"),
        announce=writes.committed,
    )


__all__ = ["UNSET", "Outcome", "actor", "create_customer", "services", "update_customer"]
