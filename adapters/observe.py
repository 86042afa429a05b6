"""Seams through which the gateway watches backend calls without adapters knowing how.

Adapters report every call to the ``CallObserver`` objects they were given
(metrics, tracing, logs live in ``gateway``), and add the headers of
``outgoing_headers`` (request id, W3C ``traceparent``) that the gateway set
for the current request.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One finished backend call.

    Attributes:
        service: ``core``, ``pricing``, ``crm`` or ``shipping``.
        operation: the contract's operationId (``listPrices``) or a core statement kind.
        seconds: wall time of the call, retries included.
        outcome: ``ok``, or the error's code (``UPSTREAM_TIMEOUT``, ...).
        status: the HTTP status, when there was one.
    """

    service: str
    operation: str
    seconds: float
    outcome: str
    status: int | None = None


class CallObserver(Protocol):
    """Receives every backend call an adapter makes."""

    def backend_call(self, record: CallRecord) -> None: ...


#: Headers to forward to the bolt-ons for the request being served.
outgoing_headers: ContextVar[dict[str, str] | None] = ContextVar("outgoing_headers", default=None)


class StatementWatcher(Protocol):
    """Sees each SQL statement a core read path runs outside SQLAlchemy's events.

    ``started`` is called in the task that runs the statement (so context
    variables are the request's), and ``finished`` with what it returned
    and the outcome: ``ok``, ``UPSTREAM_TIMEOUT``, ``UPSTREAM_UNAVAILABLE``
    or ``UPSTREAM_ERROR``.
    """

    def started(self, statement: str) -> object: ...

    def finished(self, token: object, outcome: str) -> None: ...
