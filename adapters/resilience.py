"""Keeping one bolt-on's trouble its own: retries, a circuit breaker, a bulkhead.

``HttpBackend.request`` runs every call through one ``Resilience`` object
per backend, in this order::

    breaker.before_call()             -> fail fast while open (once per call)
    total budget (asyncio.timeout)    -> covers everything below
     └── the adapter's own queue, if any (the CRM's bound on concurrent calls)
          └── bulkhead (bounded concurrent calls, bounded wait for a slot)
               └── for each attempt:
                    the HTTP call
                    retry?  only idempotent calls, only connect errors / 429 / 503,
                            exponential backoff with full jitter, Retry-After honoured
                            up to a cap, never past the total budget
    breaker.record(...)               -> the call's outcome, after its retries

The breaker judges logical calls, not attempts: a call that failed twice and
then succeeded is a success. Counting attempts made a bolt-on failing half
its calls look mostly down (see ``CircuitBreaker``).

Nothing here knows the HTTP client: the caller says which failures are retryable.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from adapters.errors import BackendError, BackendRejected, BackendTimeout, BackendUnavailable

log = logging.getLogger("adapters.resilience")

T = TypeVar("T")

#: The reason of the error a full bulkhead raises.
BULKHEAD_FULL = "bulkhead full"
#: The reason of the timeout of a call whose budget ran out before a slot was free.
QUEUE_TIMEOUT = "timed out waiting for a slot"

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
    """Stops calling a backend that mostly fails, and probes it back to health.

    It judges the outcomes of logical calls (after their retries) over a
    sliding window of ``window`` seconds. ``closed``: calls go through; the
    circuit opens when the window holds at least ``failure_threshold``
    failed calls *and* they are at least ``failure_rate`` of its calls.
    ``open``: calls fail at once with ``BackendUnavailable("circuit open")``
    for ``reset_timeout`` seconds. ``half_open``: up to ``half_open_calls``
    probe calls go through; a success closes the circuit (with an empty
    window), a failure opens it again.

    Why a rate and not consecutive failures: with three attempts, a bolt-on
    that fails half of all attempts fails about an eighth of logical calls
    (0.5 ** 3), which retries otherwise hide; counting every attempt, five
    in a row came within seconds and the circuit turned that eighth into
    most calls. A rate over a window with a floor of failures opens for a
    bolt-on that is down (every call fails) and stays shut for one that is
    merely flaky.

    Args:
        service: the backend's name, for errors and the state callback.
        failure_threshold: failed calls in the window, at least, before it may open.
        failure_rate: share (0..1] of the window's calls that must have failed.
        window: seconds of outcomes considered.
        reset_timeout: seconds the circuit stays open before probing.
        half_open_calls: probes allowed at once while half open.
        on_state_change: told ``(service, state)`` on every change (metrics).
        clock: monotonic seconds; replaceable for tests.

    Example:
        >>> breaker = CircuitBreaker("pricing", failure_threshold=10, failure_rate=0.5)
        >>> breaker.before_call()  # raises BackendUnavailable while open
        >>> breaker.record(success=True)
    """

    def __init__(
        self,
        service: str,
        *,
        failure_threshold: int = 10,
        failure_rate: float = 0.5,
        window: float = 10.0,
        reset_timeout: float = 10.0,
        half_open_calls: int = 1,
        on_state_change: StateCallback | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < failure_rate <= 1:
            raise ValueError("failure_rate must be in (0, 1]")
        self.service = service
        self.failure_threshold = failure_threshold
        self.failure_rate = failure_rate
        self.window = window
        self.reset_timeout = reset_timeout
        self.half_open_calls = half_open_calls
        self.on_state_change = on_state_change
        self._clock = clock
        self._state: CircuitState = "closed"
        # (finished at, failed) of each call in the window, oldest first.
        self._outcomes: deque[tuple[float, bool]] = deque()
        self._failures = 0
        self._opened_at = 0.0
        self._probes = 0

    @property
    def state(self) -> CircuitState:
        """The state now (an open circuit past its timeout reads as half open)."""
        if self._state == "open" and self._clock() - self._opened_at >= self.reset_timeout:
            return "half_open"
        return self._state

    def window_counts(self) -> tuple[int, int]:
        """``(calls, failed calls)`` in the window now."""
        self._expire(self._clock())
        return len(self._outcomes), self._failures

    def before_call(self) -> None:
        """Let a call through, or raise ``BackendUnavailable`` (reason ``circuit open``).

        A call let through must end in ``record()`` or, when it ends without
        an outcome (cancelled by its caller), in ``release()``.
        """
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

    def release(self) -> None:
        """A call that ``before_call`` let through ended without an outcome."""
        if self._state == "half_open":
            self._probes = max(0, self._probes - 1)

    def record(self, *, success: bool) -> None:
        """The outcome of a call that ``before_call`` let through, after its retries."""
        if self._state != "closed":
            if self._state == "half_open":
                self._probes = max(0, self._probes - 1)
                if success:
                    self._clear()
                    self._set("closed")
                else:
                    self._open()
            # Open: a call let through before it opened has ended; it changes nothing.
            return
        now = self._clock()
        self._outcomes.append((now, not success))
        if not success:
            self._failures += 1
        self._expire(now)
        if (
            not success
            and self._failures >= self.failure_threshold
            and self._failures >= self.failure_rate * len(self._outcomes)
        ):
            self._open()

    def _expire(self, now: float) -> None:
        outcomes = self._outcomes
        horizon = now - self.window
        while outcomes and outcomes[0][0] < horizon:
            if outcomes.popleft()[1]:
                self._failures -= 1

    def _clear(self) -> None:
        self._outcomes.clear()
        self._failures = 0

    def _open(self) -> None:
        self._opened_at = self._clock()
        # The next closed period starts from a clean window.
        self._clear()
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
    thousands of stuck calls. The wait is also bounded by the caller's
    budget (``Resilience`` acquires the slot inside it).
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

    async def acquire(self) -> None:
        """Take a slot, or raise ``BackendUnavailable`` (reason ``BULKHEAD_FULL``)."""
        if self._slots.locked():
            try:
                async with asyncio.timeout(self.max_wait):
                    await self._slots.acquire()
            except TimeoutError:
                raise BackendUnavailable(self.service, BULKHEAD_FULL) from None
        else:
            # A free slot: taken at once, without a timeout's timer handle.
            await self._slots.acquire()
        self._active += 1

    def release(self) -> None:
        self._active -= 1
        self._slots.release()


class Resilience:
    """Retries, breaker and bulkhead of one backend, applied around each call.

    Args:
        service: the backend's name.
        retry: the retry policy of idempotent calls.
        breaker: the circuit breaker, or ``None`` for none.
        bulkhead: the concurrency bound, or ``None`` for none.
        total_timeout: the budget of one call: waiting for the adapter's queue
            and the bulkhead, every attempt and every backoff.
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
        queue: asyncio.Semaphore | None = None,
    ) -> T:
        """Run ``attempt`` under the breaker, the budget, the bulkhead and the retry policy.

        Args:
            queue: a bound of the caller's own, waited for inside the budget.

        Raises:
            BackendTimeout: the total budget ran out (queueing included).
            BackendUnavailable: circuit open, bulkhead full, or the last attempt's failure.
            BackendError: a failure that is not worth retrying, as raised.
        """
        breaker = self.breaker
        if breaker is not None:
            breaker.before_call()
        success: bool | None = None
        try:
            result = await self._within_budget(attempt, idempotent, retryable, queue)
            success = True
        except BackendRejected:
            # The backend answered (a 4xx): it is up, whatever it thought of us.
            success = True
            raise
        except BackendUnavailable as exc:
            # A full bulkhead, or a budget spent waiting for a slot, is our own limit,
            # not an answer of the backend's: the calls holding the slots report it.
            if exc.reason not in (BULKHEAD_FULL, QUEUE_TIMEOUT):
                success = False
            raise
        finally:
            if breaker is not None:
                if success is None:
                    breaker.release()
                else:
                    breaker.record(success=success)
        return result

    async def _within_budget(
        self,
        attempt: Callable[[], Awaitable[T]],
        idempotent: bool,
        retryable: Callable[[BackendError], bool],
        queue: asyncio.Semaphore | None,
    ) -> T:
        deadline = asyncio.get_running_loop().time() + self.total_timeout
        bulkhead = self.bulkhead
        waiting = True
        try:
            async with asyncio.timeout_at(deadline):
                if queue is not None:
                    await queue.acquire()
                try:
                    if bulkhead is not None:
                        await bulkhead.acquire()
                    try:
                        waiting = False
                        return await self._attempts(attempt, idempotent, retryable, deadline)
                    finally:
                        if bulkhead is not None:
                            bulkhead.release()
                finally:
                    if queue is not None:
                        queue.release()
        except TimeoutError:
            reason = QUEUE_TIMEOUT if waiting else "timed out"
            raise BackendTimeout(self.service, reason) from None

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
            try:
                return await attempt()
            except BackendUnavailable as exc:
                wait = self._wait_before_retry(exc, number, attempts, retryable)
                # A wait that outlasts the budget would only end in a timeout: give the
                # caller the backend's own answer (a 429, a 503) now instead.
                if wait is None or asyncio.get_running_loop().time() + wait >= deadline:
                    raise
                await asyncio.sleep(wait)
                number += 1

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
            # Other calls found it down meanwhile: stop adding load.
            return None
        return self.retry.backoff(number, exc.retry_after, self._rng)


__all__ = [
    "BULKHEAD_FULL",
    "QUEUE_TIMEOUT",
    "Bulkhead",
    "CircuitBreaker",
    "CircuitState",
    "Resilience",
    "RetryPolicy",
    "StateCallback",
]
