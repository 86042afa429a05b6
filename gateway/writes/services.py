"""The write side's runtime, built by ``create_app`` and run by its lifespan.

``WriteServices`` bundles what a mutation needs besides the adapters: the
``CoreWriter`` (transactions on the core), the live event bus (subscriptions),
the change hooks (cache invalidation), the outbox dispatcher (events to the
CRM). Resolvers reach it as ``context.writes``.

After a write commits, ``committed()`` publishes its events to the bus,
wakes the dispatcher and tells the change hooks, in that order; none of
these can undo or fail the write.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any, Self

from adapters.core import CoreAdapter
from adapters.core.gateway_tables import ensure_gateway_tables
from adapters.core.writes import CoreWriter, WriteResult
from adapters.errors import BackendError
from gateway.backends import Backends
from gateway.events import EventBus, create_event_bus
from gateway.settings import Settings
from gateway.writes.changes import ChangeHooks
from gateway.writes.outbox import OutboxDispatcher
from plugins.crm import crm_of

log = logging.getLogger("gateway.writes.services")


class WriteServices:
    """The writer, event bus, change hooks, and outbox dispatcher.

    Args:
        backends: the adapters; the core and the CRM are used here.
        bus: the live event bus (subscriptions).
        outbox: the dispatcher and the core adapter it polls through, or
            ``None`` when this process delivers no outbox events.

    Example:
        >>> writes = WriteServices.from_settings(settings, backends)
        >>> async with backends, writes:
        ...     writes.on_change.append(lambda changes: print(changes))
    """

    def __init__(
        self,
        backends: Backends,
        *,
        bus: EventBus,
        outbox: tuple[OutboxDispatcher, CoreAdapter] | None = None,
    ) -> None:
        self.backends = backends
        self.writer = CoreWriter(backends.core)
        self.bus = bus
        self.on_change = ChangeHooks()
        self.dispatcher: OutboxDispatcher | None = outbox[0] if outbox is not None else None
        self._outbox_core: CoreAdapter | None = outbox[1] if outbox is not None else None

    @classmethod
    def from_settings(cls, settings: Settings, backends: Backends) -> WriteServices:
        """The event bus and, unless ``outbox_dispatcher`` is off, the outbox dispatcher."""
        bus = create_event_bus(settings.redis_url, channel=settings.events_channel)
        if not settings.outbox_dispatcher:
            return cls(backends, bus=bus)
        # The dispatcher polls through a small pool of its own: its background
        # rounds neither take connections from requests nor show in the
        # request adapter's statement count.
        core = CoreAdapter(
            settings.core_database_url,
            pool_size=2,
            statement_timeout=settings.core_statement_timeout,
            sqlite_inline=settings.core_sqlite_inline,
        )
        dispatcher = OutboxDispatcher(
            core,
            crm_of(backends),
            batch_size=settings.outbox_batch_size,
            max_attempts=settings.outbox_max_attempts,
            backoff_base=settings.outbox_backoff_base,
            backoff_max=settings.outbox_backoff_max,
            lease=settings.outbox_lease,
            poll_interval=settings.outbox_poll_interval,
        )
        return cls(backends, bus=bus, outbox=(dispatcher, core))

    async def __aenter__(self) -> Self:
        """Create the gateway's tables if missing, connect the bus, start the dispatcher.

        A core that is down at start-up is logged, not fatal: reads of the
        bolt-ons still work, and the dispatcher keeps retrying its rounds.
        """
        try:
            await ensure_gateway_tables(self.backends.core)
        except BackendError as exc:
            log.warning("cannot create the gateway's tables yet: %s", exc)
        await self.bus.start()
        if self._outbox_core is not None and self.dispatcher is not None:
            await self._outbox_core.__aenter__()
            self.dispatcher.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self.dispatcher is not None:
            await self.dispatcher.stop()
        if self._outbox_core is not None:
            await self._outbox_core.aclose()
        await self.bus.aclose()

    async def committed(self, result: WriteResult[Any]) -> None:
        """Announce a committed write: live subscribers, the dispatcher, the change hooks."""
        for event in result.events:
            await self.bus.publish(event.envelope())
        if result.events and self.dispatcher is not None:
            self.dispatcher.wake()
        await self.on_change.notify(result.changes)


__all__ = ["WriteServices"]
