"""The live event bus behind subscriptions: committed business events, fanned out.

Writers ``publish()`` an event envelope ``{id, type, occurred_at, data}``
after its transaction committed (never before: a subscriber must not see a
change that may still roll back). Subscribers (``orderEvents``) iterate
``subscribe()``.

- ``LocalEventBus``: in-process fan-out, one bounded queue per subscriber.
- ``RedisEventBus`` (when ``GATEWAY_REDIS_URL`` is set): ``publish`` goes to
  a Redis pub/sub channel; one listener task per process reads the channel
  and fans out locally, so a subscriber on instance A sees what instance B
  committed, and each process holds one Redis subscription however many
  websockets it serves.

This is a live feed, best effort: an event published while a subscriber is
not connected (or while Redis is unreachable) is not replayed to it. The
durable, at-least-once path to the bolt-ons is the outbox (``gateway.writes.outbox``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Protocol

import orjson

if TYPE_CHECKING:
    import redis.asyncio as redis

log = logging.getLogger("gateway.events")

#: Events a slow subscriber may fall behind by before it misses some.
QUEUE_SIZE = 1000

Event = dict[str, Any]


class EventBus(Protocol):
    """What the write path publishes to and subscriptions read from."""

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...

    async def publish(self, event: Event) -> None: ...

    @property
    def subscribers(self) -> int: ...

    def subscribe(self) -> contextlib.AbstractAsyncContextManager[AsyncIterator[Event]]: ...


class LocalEventBus:
    """Fan-out to the subscribers of this process.

    Example:
        >>> bus = LocalEventBus()
        >>> async with bus.subscribe() as events:
        ...     await bus.publish({"type": "order.placed", "data": {}})
        ...     await anext(events)
        {'type': 'order.placed', 'data': {}}
    """

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[Event]] = set()

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        self._queues.clear()

    @property
    def subscribers(self) -> int:
        return len(self._queues)

    async def publish(self, event: Event) -> None:
        self.deliver(event)

    def deliver(self, event: Event) -> None:
        """Hand ``event`` to every local subscriber without waiting."""
        for queue in list(self._queues):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                # A stuck subscriber must not hold up writers or other subscribers.
                log.warning("a subscriber is %d events behind; dropping one", QUEUE_SIZE)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[AsyncIterator[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)
        self._queues.add(queue)

        async def events() -> AsyncIterator[Event]:
            while True:
                yield await queue.get()

        try:
            yield events()
        finally:
            self._queues.discard(queue)


class RedisEventBus:
    """Events through one Redis pub/sub channel, shared by every gateway instance.

    Args:
        url: the Redis URL (``redis://host:6379/0``).
        channel: the channel name; instances of one deployment share it.
        reconnect_delay: seconds between attempts while Redis is unreachable.
    """

    def __init__(self, url: str, *, channel: str, reconnect_delay: float = 1.0) -> None:
        self._url = url
        self.channel = channel
        self._reconnect_delay = reconnect_delay
        # Imported here: redis is ~9 MB in every worker, and only a deployment with
        # GATEWAY_REDIS_URL set uses it.
        from redis.exceptions import RedisError

        self._redis_error: type[Exception] = RedisError
        self._local = LocalEventBus()
        self._client: redis.Redis | None = None
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def start(self) -> None:
        """Connect and subscribe; returns once the channel is subscribed (or after 5 s)."""
        import redis.asyncio as redis

        self._client = redis.Redis.from_url(self._url)
        self._listener = asyncio.create_task(self._listen(), name="redis event listener")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), 5.0)

    async def aclose(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
        await self._local.aclose()

    async def publish(self, event: Event) -> None:
        if self._client is None:
            raise RuntimeError("the event bus is not started")
        try:
            await self._client.publish(self.channel, orjson.dumps(event))
        except self._redis_error as exc:
            # Committed already: losing a live notification must not fail the write.
            log.warning(
                "cannot publish event %s to Redis (%s)", event.get("id"), type(exc).__name__
            )

    @property
    def subscribers(self) -> int:
        """Subscribers of this process."""
        return self._local.subscribers

    def subscribe(self) -> contextlib.AbstractAsyncContextManager[AsyncIterator[Event]]:
        return self._local.subscribe()

    async def _listen(self) -> None:
        assert self._client is not None
        while True:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self._subscribed.set()
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    try:
                        event = orjson.loads(message["data"])
                    except orjson.JSONDecodeError:
                        log.warning("ignoring a malformed event on %s", self.channel)
                        continue
                    self._local.deliver(event)
            except self._redis_error as exc:
                log.warning("Redis event listener lost its connection (%s)", type(exc).__name__)
            finally:
                await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(self._reconnect_delay)


def create_event_bus(redis_url: str | None, *, channel: str) -> EventBus:
    """``RedisEventBus`` when a Redis URL is configured, else ``LocalEventBus``."""
    if redis_url:
        return RedisEventBus(redis_url, channel=channel)
    return LocalEventBus()


__all__ = ["Event", "EventBus", "LocalEventBus", "RedisEventBus", "create_event_bus"]
