"""Which sources the current request has read: the response cache's dependency record.

The gateway's endpoint opens a ``ReadSet`` around a query it may cache; the
core adapter marks ``core`` on each read and the loaders mark each bolt-on
operation (``pricing.listPrices``) they answer from, whether the answer came
from the bolt-on or from the bolt-on cache. Outside a ``tracking`` block
marking costs one context-variable lookup and records nothing.

A context variable (not the request context) because the core adapter knows
nothing of requests, and because DataLoader batches run in tasks that copy
the context of the request that created them: the set object is shared.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

CORE = "core"
"""The mark of a read of the core (the system of record)."""

_current: ContextVar[set[str] | None] = ContextVar("gateway_reads", default=None)


def mark(source: str) -> None:
    """Record that the current request read ``source`` (no-op when nobody tracks)."""
    reads = _current.get()
    if reads is not None:
        reads.add(source)


@contextmanager
def tracking() -> Iterator[set[str]]:
    """Collect the sources read inside the block (and the tasks it starts) into a set.

    Example:
        >>> with tracking() as reads:
        ...     mark("core")
        >>> reads
        {'core'}
    """
    reads: set[str] = set()
    token = _current.set(reads)
    try:
        yield reads
    finally:
        _current.reset(token)


__all__ = ["CORE", "mark", "tracking"]
