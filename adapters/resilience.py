"""Keeping one bolt-on's trouble its own: retries, a circuit breaker, a bulkhead.

``HttpBackend.request`` runs every call through one ``Resilience`` object
per backend, in this order::

    total budget (asyncio.timeout)
     └── bulkhead (bounded concurrent calls, bounded wait for a slot)
          └── for each attempt:
               breaker.before_call()  -> fail fast while open
               the HTTP call          -> breaker.record(...)
               retry?  only idempotent calls, only connect errors / 429 / 503,
                       exponential backoff with full jitter, Retry-After honoured
                       up to a cap, never past the total budget

Nothing here knows httpx: the caller says which failures are retryable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from adapters.errors import BackendError, BackendTimeout, BackendUnavailable

log = logging.getLogger("adapters.resilience")

T = TypeVar("T")

CircuitState = Literal["closed", "open", "half_open"]
#: Told of every change of a breaker's state: ``(service, state)``.
StateCallback = Callable[[str, CircuitState], None]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently an idempotent call is retried.

    Attributes:
        attempts: calls in all, the first included (1 = never retry).
        base_delay: the backoff before the second attempt, seconds; doubles each time.
        max_delay: the largest backoff, seconds.
        max_retry_after: the longest ``Retry-After`` honoured; a longer one is
            not waited for (the call fails at once instead).
        statuses: HTTP statuses worth another try.
    """

    attempts: int = 3
    base_delay: float = 0.05
    max_delay: float = 1.0
    max_retry_after: float = 2.0
    statuses: frozenset[int] = frozenset({429, 503})

    def backoff(self, retry: int, retry_after: float | None, rng: random.Random) -> float | None:
        """Seconds to wait before retry number ``retry`` (1-based); ``None``: do not retry."""
        if retry_after is not None:
            # The server said when; waiting less would only be refused again.
            return retry_after if retry_after <= self.max_retry_after else None
        ceiling = min(self.max_delay, self.base_delay * (2 ** (retry - 1)))
        # Full jitter: concurrent clients retrying in step would hit the backend together.
        return rng.uniform(0, ceiling)


class CircuitBreaker:
    """Stops calling a backend that keeps failing, and probes it back to health.

    ``closed``: calls go through; ``failure_threshold`` consecutive failures
    open it. ``open``: calls fail at once with ``BackendUnavailable("circuit
    open")`` for ``reset_timeout`` seconds. ``half_open``: up to
    ``half_open_calls`` probe calls go through; a success closes the
    circuit, a failure opens it again.

    Args:
        service: the backend's name, for errors and the state callback.
        failure_threshold: consecutive failures that open the circuit.
        reset_timeout: seconds the circuit stays open before probing.
        half_open_calls: probes allowed at once while half open.
        on_state_change: told ``(service, state)`` on every change (metrics).
        clock: monotonic seconds; replaceable for tests.

    Example:
        >>> breaker = CircuitBreaker("pricing", failure_threshold=5, reset_timeout=10)
        >>> breaker.before_call()  # raises BackendUnavailable while open
        >>> breaker.record(success=True)
    """

    def __init__(
        self,
        service: str,
        *,
        failure_threshold: int = 5,
        reset_timeout: float = 10.0,
        half_open_calls: int = 1,
        on_state_change: StateCallback | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.service = service
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self.half_open_calls = half_open_calls
        self.on_state_change = on_state_change
        self._clock = clock
        self._state: CircuitState = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._probes = 0

    @property
    def state(self) -> CircuitState:
        """The state now (an open circuit past its timeout reads as half open)."""
        if self._state == "open" and self._clock() - self._opened_at >= self.reset_timeout:
            return "half_open"
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def before_call(self) -> None:
        """Let a call through, or raise ``BackendUnavailable`` (reason ``circuit open``)."""
        if self._state == "closed":
            return
        if self._state == "open":
            if self._clock() - self._opened_at < self.reset_timeout:
                raise BackendUnavailable(self.service, "circuit open")
            self._set("half_open")
        if self._probes >= self.half_open_calls:
            # A probe is already out: everyone else still fails fast.
            raise BackendUnavailable(self.service, "circuit open")
        self._probes += 1

    def record(self, *, success: bool) -> None:
        """The outcome of a call that ``before_call`` let through."""
        if self._state == "half_open":
            self._probes = max(0, self._probes - 1)
        if success:
            self._failures = 0
            if self._state != "closed":
                self._set("closed")
            return
        self._failures += 1
        if self._state == "half_open" or self._failures >= self.failure_threshold:
            self._opened_at = self._clock()
            self._set("open")

    def _set(self, state: CircuitState) -> None:
        if state == self._state:
            return
        self._state = state
        if state != "half_open":
            self._probes = 0
        log.warning("circuit of %s is now %s", self.service, state)
        if self.on_state_change is not None:
            try:
                self.on_state_change(self.service, state)
            except Exception:  # a metrics hook must never break a call
                log.exception("circuit state callback failed")


class Bulkhead:
    """At most ``limit`` calls to one backend at once; waiters give up after ``max_wait``.

    A bolt-on that hangs can then hold only its own slots: queries that do
    not touch it never wait behind it, and the process does not pile up
    thousands of stuck calls.
    """

    def __init__(self, service: str, *, limit: int = 32, max_wait: float = 1.0) -> None:
        self.service = service
        self.limit = limit
        self.max_wait = max_wait
        self._slots = asyncio.Semaphore(limit)
        self._active = 0

    @property
    def active(self) -> int:
        """Calls holding a slot now."""
        return self._active

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold a slot for the ``async with`` block, or raise ``BackendUnavailable``."""
        try:
            await asyncio.wait_for(self._slots.acquire(), self.max_wait)
        except TimeoutError:
            raise BackendUnavailable(self.service, "bulkhead full") from None
        self._active += 1
        try:
            yield
        finally:
            self._active -= 1
            self._slots.release()


class Resilience:
    """Retries, breaker and bulkhead of one backend, applied around each call.

    Args:
        service: the backend's name.
        retry: the retry policy of idempotent calls.
        breaker: the circuit breaker, or ``None`` for none.
        bulkhead: the concurrency bound, or ``None`` for none.
        total_timeout: the budget of one call, retries and waits included.
        rng: the jitter's random source (seeded in tests).
    """

    def __init__(
        self,
        service: str,
        *,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        bulkhead: Bulkhead | None = None,
        total_timeout: float = 2.0,
        rng: random.Random | None = None,
    ) -> None:
        self.service = service
        self.retry = retry if retry is not None else RetryPolicy()
        self.breaker = breaker
        self.bulkhead = bulkhead
        self.total_timeout = total_timeout
        # Jitter, not secrets.
        self._rng = rng if rng is not None else random.Random()  # noqa: S311

    async def call(
        self,
        attempt: Callable[[], Awaitable[T]],
        *,
        idempotent: bool,
        retryable: Callable[[BackendError], bool],
    ) -> T:
        """Run ``attempt`` under the budget, the bulkhead, the breaker and the retry policy.

        Raises:
            BackendTimeout: the total budget ran out.
            BackendUnavailable: circuit open, bulkhead full, or the last attempt's failure.
            BackendError: a failure that is not worth retrying, as raised.
        """
        deadline = asyncio.get_running_loop().time() + self.total_timeout
        try:
            async with asyncio.timeout_at(deadline):
                if self.bulkhead is None:
                    return await self._attempts(attempt, idempotent, retryable, deadline)
                async with self.bulkhead.slot():
                    return await self._attempts(attempt, idempotent, retryable, deadline)
        except TimeoutError:
            raise BackendTimeout(self.service, "timed out") from None

    async def _attempts(
        self,
        attempt: Callable[[], Awaitable[T]],
        idempotent: bool,
        retryable: Callable[[BackendError], bool],
        deadline: float,
    ) -> T:
        attempts = self.retry.attempts if idempotent else 1
        number = 1
        while True:
            if self.breaker is not None:
                self.breaker.before_call()
            try:
                result = await attempt()
            except BackendUnavailable as exc:
                self._record(success=False)
                wait = self._wait_before_retry(exc, number, attempts, retryable)
                # A wait that outlasts the budget would only end in a timeout: give the
                # caller the backend's own answer (a 429, a 503) now instead.
                if wait is None or asyncio.get_running_loop().time() + wait >= deadline:
                    raise
                await asyncio.sleep(wait)
                number += 1
                continue
            except BackendError:
                # The backend answered (a 4xx): it is up, whatever it thought of us.
                self._record(success=True)
                raise
            except asyncio.CancelledError:
                # The budget ran out mid-call: that is a failure of this backend too.
                self._record(success=False)
                raise
            self._record(success=True)
            return result

    def _wait_before_retry(
        self,
        exc: BackendUnavailable,
        number: int,
        attempts: int,
        retryable: Callable[[BackendError], bool],
    ) -> float | None:
        if number >= attempts or not retryable(exc):
            return None
        if self.breaker is not None and self.breaker.state == "open":
            return None
        return self.retry.backoff(number, exc.retry_after, self._rng)

    def _record(self, *, success: bool) -> None:
        if self.breaker is not None:
            self.breaker.record(success=success)


__all__ = [
    "Bulkhead",
    "CircuitBreaker",
    "CircuitState",
    "Resilience",
    "RetryPolicy",
    "StateCallback",
]
