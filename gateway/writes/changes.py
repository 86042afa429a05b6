"""The cache-hygiene seam: every committed write names the entities it changed.

After a write commits, the gateway calls each hook registered on
``app.state.on_change`` (also ``WriteServices.on_change``) with one
``ChangeSet``: a frozenset of ``(type, key)`` pairs, the GraphQL type name and
the entity's business key:

- ``("Customer", "C-000042")``: the customer's fields, or its ``openBalance``
  (an order of it was placed, cancelled or shipped);
- ``("Order", "SO-000123")``: the order, its lines, status or shipment;
- ``("Product", "SKU-00042")``: the product's ``inventory`` / ``available``.

A cache registers once at start-up and drops exactly those entries::

    async def invalidate(changes: ChangeSet) -> None:
        for type_name, key in changes:
            await cache.delete(f"{type_name}:{key}")

    app.state.on_change.append(invalidate)

Hooks may be plain or async functions. They run after the commit, in
registration order, in the request that wrote; a hook that raises is logged
and does not fail the write (it has committed) nor stop the other hooks.
Only this process's writes are reported: other instances' writes reach a
shared cache through their own hooks.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable

log = logging.getLogger("gateway.writes.changes")

ChangeSet = frozenset[tuple[str, str]]
"""The ``(type, business key)`` pairs one committed write changed."""

ChangeHook = Callable[[ChangeSet], Awaitable[None] | None]
"""A callback told about each committed write."""


class ChangeHooks(list[ChangeHook]):
    """The hooks told about committed writes: a list, so ``append`` registers one.

    Example:
        >>> hooks = ChangeHooks()
        >>> hooks.append(lambda changes: print(sorted(changes)))
        >>> await hooks.notify(frozenset({("Customer", "C-000042")}))
        [('Customer', 'C-000042')]
    """

    def __init__(self, hooks: Iterable[ChangeHook] = ()) -> None:
        super().__init__(hooks)

    async def notify(self, changes: ChangeSet) -> None:
        """Call every hook with ``changes``; one failing hook is logged, not raised."""
        if not changes:
            return
        for hook in list(self):
            try:
                outcome = hook(changes)
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception:
                log.exception("change hook %r failed", hook)


__all__ = ["ChangeHook", "ChangeHooks", "ChangeSet"]
