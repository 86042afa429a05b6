"""A root mutation field under an Idempotency-Key: run it, or answer what it already wrote.

See ``gateway.writes.replay``. ``once()`` wraps each root mutation field's
resolver: when the key's log says an earlier attempt of this request
committed the field's write, the field answers with that entity as the core
has it now, and nothing is written; otherwise the resolver runs, its write
fenced under the field's slot.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from adapters.core.writes import WriteErrorCode, WriteRejected
from adapters.errors import BackendError
from gateway.context import Context
from gateway.writes.use_case import Outcome, unavailable


async def once(
    context: Context, slot: str, run: Callable[[], Awaitable[Outcome[Any]]]
) -> Outcome[Any]:
    """``run()``, unless this request's key already committed ``slot``'s write."""
    log = context.idempotency
    if log is None:
        return await run()
    recorded = log.recorded(slot)
    if recorded is not None:
        return await _committed(context, *recorded)
    log.begin(slot)
    try:
        return await run()
    finally:
        log.end()


async def _committed(context: Context, entity_type: str, key: str) -> Outcome[Any]:
    core = context.backends.core
    records: list[Any]
    try:
        if entity_type == "Customer":
            records = list(await core.customers_by_account([key]))
        else:
            records = list(await core.orders_by_number([key]))
    except BackendError as exc:
        return Outcome(errors=[unavailable(exc, "it was written; retry to read it")])
    [record] = records
    if record is None:
        return Outcome(
            errors=[WriteRejected(WriteErrorCode.NOT_FOUND, f"{key} was written but is gone")]
        )
    return Outcome(record)


__all__ = ["once"]
