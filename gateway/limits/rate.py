"""Per-client rate limits: a token bucket charged with each operation's cost.

Each client has a bucket of ``rate_limit_burst`` cost units that refills at
``rate_limit_per_second``. An operation takes its computed cost (see
``gateway.limits.cost``); when the bucket holds less, the operation is refused
before it runs with ``RATE_LIMITED`` and the endpoint answers HTTP 429 with
``Retry-After``.

``MemoryRateLimiter`` keeps the buckets in this process; ``RedisRateLimiter``
keeps them in Redis, updated by one Lua script (atomic, and timed by the
Redis server's clock), so every instance shares one budget per client. If
Redis cannot be reached the request is let through and a warning logged:
an outage of the limiter must not become an outage of the gateway.

A document refused for a limit (``QUERY_TOO_LARGE``, ``QUERY_TOO_DEEP``,
``TOO_MANY_ALIASES``, ``TOO_MANY_FRAGMENT_SPREADS``, ``TOO_MANY_FIELD_MERGES``,
``QUERY_TOO_COSTLY``) is charged too (``ChargeRefusals``): ``max_query_cost``,
the price of the dearest operation the gateway would have run, taken from
the bucket as far as it holds (it never goes below empty). The caller asked
for more than that, and finding out took the gateway's time; without the
charge, refused bombs would be the one free thing to send.
"""

from __future__ import annotations

import logging
import math
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from gateway.errors import ErrorCode, RequestRejected
from gateway.limits.settings import LimitsSettings
from gateway.observability.metrics import record_rate_limited
from gateway.pipeline import Exchange, Handler, Reply

log = logging.getLogger("gateway.limits.rate")


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of charging a bucket."""

    allowed: bool
    remaining: float
    retry_after: float  # seconds until the cost would fit; 0 when allowed


class RateLimiter(ABC):
    """Charges ``cost`` to ``client_id``'s bucket."""

    @abstractmethod
    async def take(self, client_id: str, cost: int) -> Decision:
        """Take ``cost`` if the bucket holds it; otherwise take nothing and refuse."""

    @abstractmethod
    async def drain(self, client_id: str, cost: int) -> Decision:
        """Take ``cost``, or everything the bucket holds when that is less."""

    @abstractmethod
    async def aclose(self) -> None: ...

    @classmethod
    def from_settings(cls, settings: LimitsSettings) -> RateLimiter:
        """Redis-backed when ``redis_url`` is set, else in memory."""
        if settings.redis_url:
            return RedisRateLimiter(
                settings.redis_url,
                burst=settings.rate_limit_burst,
                per_second=settings.rate_limit_per_second,
                prefix=settings.rate_limit_key_prefix,
            )
        return MemoryRateLimiter(
            burst=settings.rate_limit_burst, per_second=settings.rate_limit_per_second
        )


class MemoryRateLimiter(RateLimiter):
    """Token buckets in this process (one instance, or tests).

    Example:
        >>> import asyncio
        >>> limiter = MemoryRateLimiter(burst=10, per_second=1.0)
        >>> asyncio.run(limiter.take("acme", 8)).allowed
        True
    """

    def __init__(self, *, burst: int, per_second: float) -> None:
        self.burst = burst
        self.per_second = per_second
        self._buckets: dict[str, tuple[float, float]] = {}

    async def take(self, client_id: str, cost: int) -> Decision:
        return self._take(client_id, cost, partial=False)

    async def drain(self, client_id: str, cost: int) -> Decision:
        return self._take(client_id, cost, partial=True)

    def _take(self, client_id: str, cost: int, *, partial: bool) -> Decision:
        cost = min(max(cost, 1), self.burst)
        now = time.monotonic()
        tokens, last = self._buckets.get(client_id, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.per_second)
        if tokens >= cost or partial:
            left = max(0.0, tokens - cost)
            self._buckets[client_id] = (left, now)
            return Decision(True, left, 0.0)
        self._buckets[client_id] = (tokens, now)
        return Decision(False, tokens, (cost - tokens) / self.per_second)

    async def aclose(self) -> None:
        self._buckets.clear()


# KEYS[1] bucket; ARGV: burst, per_second, cost, partial (1: take what there is).
# Returns {allowed, tokens*1000, retry_ms}.
_BUCKET_SCRIPT = """
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local partial = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then
  tokens = burst
  ts = now
end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local allowed = 0
local retry_ms = 0
if tokens >= cost or partial == 1 then
  tokens = math.max(0, tokens - cost)
  allowed = 1
else
  retry_ms = math.ceil((cost - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, math.floor(tokens * 1000), retry_ms}
"""


class RedisRateLimiter(RateLimiter):
    """Token buckets shared by every instance through Redis (one atomic Lua script)."""

    def __init__(self, url: str, *, burst: int, per_second: float, prefix: str) -> None:
        self.burst = burst
        self.per_second = per_second
        self.prefix = prefix
        # Imported here: redis is ~9 MB in every worker, and only a deployment with
        # GATEWAY_REDIS_URL set uses it.
        import redis.asyncio as aioredis
        from redis.exceptions import RedisError

        self._redis_error: type[Exception] = RedisError
        self._redis: Any = aioredis.Redis.from_url(url)
        self._script: Any = self._redis.register_script(_BUCKET_SCRIPT)

    async def take(self, client_id: str, cost: int) -> Decision:
        return await self._take(client_id, cost, partial=False)

    async def drain(self, client_id: str, cost: int) -> Decision:
        return await self._take(client_id, cost, partial=True)

    async def _take(self, client_id: str, cost: int, *, partial: bool) -> Decision:
        cost = min(max(cost, 1), self.burst)
        try:
            allowed, milli_tokens, retry_ms = await self._script(
                keys=[self.prefix + client_id],
                args=[self.burst, self.per_second, cost, int(partial)],
            )
        except self._redis_error:
            log.warning("rate limiter: Redis unavailable; letting the request through")
            return Decision(True, float(self.burst), 0.0)
        return Decision(bool(allowed), int(milli_tokens) / 1000, int(retry_ms) / 1000)

    async def aclose(self) -> None:
        await self._redis.aclose()


class LimiterLifetime:
    """Closes a limiter with the app's lifespan (``async with``)."""

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter

    async def __aenter__(self) -> RateLimiter:
        return self.limiter

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.limiter.aclose()


class RateLimit:
    """Step: charge the operation's cost (``exchange.cost``) to its client before it runs.

    Comes after ``CostLimit``; a refusal is HTTP 429 with ``Retry-After``.
    """

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter

    async def __call__(self, exchange: Exchange, call_next: Handler) -> Reply:
        await charge(self.limiter, exchange.client_id, exchange.cost or 1)
        return await call_next(exchange)


#: The refusals of a document that asked for too much: each is charged (see the module).
OVER_LIMIT: frozenset[str] = frozenset(
    {
        ErrorCode.QUERY_TOO_LARGE,
        ErrorCode.QUERY_TOO_DEEP,
        ErrorCode.TOO_MANY_ALIASES,
        ErrorCode.TOO_MANY_FRAGMENT_SPREADS,
        ErrorCode.TOO_MANY_FIELD_MERGES,
        ErrorCode.QUERY_TOO_COSTLY,
    }
)


class ChargeRefusals:
    """Step: a document refused for a limit costs its caller ``penalty`` (see the module).

    Wraps parsing and every limit after it; the refusal itself is answered
    unchanged, and a bucket emptied by it refuses what follows with 429.

    Args:
        limiter: the buckets.
        penalty: what a refusal costs: ``max_query_cost``.
    """

    def __init__(self, limiter: RateLimiter, *, penalty: int) -> None:
        self.limiter = limiter
        self.penalty = penalty

    async def __call__(self, exchange: Exchange, call_next: Handler) -> Reply:
        try:
            return await call_next(exchange)
        except RequestRejected as exc:
            if exc.code in OVER_LIMIT:
                await self.limiter.drain(exchange.client_id, self.penalty)
            raise


async def charge(limiter: RateLimiter, client_id: str, cost: int) -> None:
    """Take ``cost`` from the client's budget.

    Used before an operation runs (``RateLimit``) and before a cached answer is
    replayed (the response cache), so both refuse alike.

    Raises:
        RequestRejected: ``RATE_LIMITED`` (HTTP 429 with ``Retry-After``).
    """
    decision = await limiter.take(client_id, cost)
    if decision.allowed:
        return
    record_rate_limited(client_id)
    retry = max(1, math.ceil(decision.retry_after))
    raise RequestRejected(
        f"rate limit exceeded: this operation costs {cost}; retry in {retry} s",
        status=429,
        code=ErrorCode.RATE_LIMITED,
        headers={"Retry-After": str(retry)},
        extensions={"retryAfter": retry},
    )
