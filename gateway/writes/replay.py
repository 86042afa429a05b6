"""What a mutation sees of its request's Idempotency-Key: its log of committed writes.

A request with an ``Idempotency-Key`` runs with a ``WriteLog`` on its
``Context`` (``context.idempotency``; ``gateway.http.idempotency`` keeps it).
Each root mutation field is a *slot*, named by its response key (its alias,
or its name). A write made for a slot goes through the log's ``fence``, the
last statement of the write's transaction, which records ``(type, key)`` of
what it wrote under the slot: both commit together or neither does.

When the owner of a key died before its response was stored, the retry
that takes the key over gets the log of what was committed: a slot found
there is answered from the entity it wrote (``resolvers.once``), not
written again; the other slots run. Never both, never neither.
"""

from __future__ import annotations

from typing import Protocol

from adapters.core.writes import WriteFence


class WriteLog(Protocol):
    """The committed writes of one keyed request, and the fence for its next one."""

    def recorded(self, slot: str) -> tuple[str, str] | None:
        """``(type, business key)`` a slot wrote, when an earlier attempt committed it."""
        ...

    def begin(self, slot: str) -> None:
        """Writes from now on are made for ``slot`` (root mutation fields run one by one)."""
        ...

    def end(self) -> None:
        """The slot's resolver returned."""
        ...

    def fence(self) -> WriteFence | None:
        """The fence of the slot being written (``None`` outside one)."""
        ...


__all__ = ["WriteLog"]
