"""The shared base of every bolt-on adapter reached over HTTP.

One pooled ``aiohttp.ClientSession`` per backend, opened in ``__aenter__``
(the app's lifespan enters it) and closed in ``aclose()``. Every call goes
through ``request()``, the one place that maps transport exceptions and
error statuses into the ``adapters.errors`` tree, so resilience (retries,
breaker, bulkhead) has one seam to wrap.

Why aiohttp and not httpx: measured on this machine (``python -m
bench.clients``, bench/NOTES.md), one call through httpx costs 1.8-4 ms of
CPU and grows with concurrency (httpcore's pool re-scans its queue and
polls every idle socket on each change), httpx over the ``httpx-aiohttp``
transport about 1.2 ms, and aiohttp directly 0.4-0.6 ms. A fan-out makes
three such calls per request. httpx stays available for callers that need
its transports (``transport=``: an in-process app through
``httpx.ASGITransport``, or a test's counting wrapper).
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import hashlib
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import aiohttp
import orjson

from adapters.errors import (
    BackendError,
    BackendNotFound,
    BackendRejected,
    BackendTimeout,
    BackendUnavailable,
)
from adapters.observe import CallObserver, CallRecord, outgoing_headers
from adapters.resilience import Resilience

if TYPE_CHECKING:
    # Imported where a transport is given: httpx pulls in its CLI (rich, pygments,
    # click), ~20 MB a worker that sends through aiohttp does not need.
    import httpx

QueryParams = Mapping[str, str | int | list[str]]

#: Methods that may be repeated without changing the result (RFC 9110, section 9.2.2).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

#: Failures that happen before the backend saw the request (or on a keep-alive
#: connection it had already closed): safe to retry an idempotent call.
_RETRYABLE_TRANSPORT: tuple[type[BaseException], ...] = (
    aiohttp.ClientConnectorError,
    aiohttp.ConnectionTimeoutError,
    aiohttp.ServerDisconnectedError,
)


@functools.cache
def _retryable_over_httpx() -> tuple[type[BaseException], ...]:
    """``_RETRYABLE_TRANSPORT``'s counterparts when the call went through httpx."""
    import httpx

    return (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError)


#: The reason a transport failure is reported with (``/readyz``, ``gateway check``):
#: one short word per kind, the same whichever client made the call. The
#: exception's own text is never used: it can hold the URL.
_REASONS: tuple[tuple[type[BaseException], str], ...] = (
    (aiohttp.ClientConnectorError, "ConnectError"),
    (aiohttp.ServerDisconnectedError, "RemoteProtocolError"),
)

#: Seconds an idle pooled connection is kept. Below uvicorn's and most servers'
#: keep-alive (5 s), so we drop a connection before the server does rather than
#: write a request onto one it is closing.
KEEPALIVE_SECONDS = 4.0


class HttpBackend:
    """A bolt-on reached over HTTP with one pooled keep-alive client.

    Args:
        service: the backend's name as clients see it in ``extensions.service``.
        base_url: the bolt-on's base URL (a deployment setting, never a constant);
            a request's path is appended to it.
        headers: credentials and fixed headers sent with every call.
        timeout: the whole budget of one call (queueing, retries and waits
            included), in seconds.
        connect_timeout: the budget of opening one connection.
        read_timeout: the budget of one attempt's wait for the response
            (default: the whole budget).
        max_connections: the keep-alive pool size, sized for the fan-out.
        transport: send through this httpx transport instead of the built-in
            aiohttp client (an in-process app, a test's wrapper). Slower:
            see the module docstring.
        observers: told of every call (metrics, tracing, logs).
        resilience: retries, circuit breaker and bulkhead (``adapters.resilience``);
            by default retries only, within ``timeout``.

    Example:
        >>> async with HttpBackend("pricing", "http://127.0.0.1:8101") as backend:
        ...     body = await backend.request("GET", "/v1/prices", operation="listPrices")
    """

    def __init__(
        self,
        service: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 2.0,
        connect_timeout: float = 1.0,
        read_timeout: float | None = None,
        max_connections: int = 64,
        transport: httpx.AsyncBaseTransport | None = None,
        observers: Sequence[CallObserver] = (),
        resilience: Resilience | None = None,
    ) -> None:
        self.service = service
        self.base_url = base_url
        # Paths are appended (as httpx does), not resolved against the base (as
        # aiohttp's base_url would): "http://h/api" + "/v1/prices" -> "http://h/api/v1/prices".
        self._base = base_url.rstrip("/")
        self._headers = dict(headers or {})
        self._timeout = timeout
        self._connect_timeout = min(connect_timeout, timeout)
        self._read_timeout = min(read_timeout, timeout) if read_timeout is not None else timeout
        self.resilience = (
            resilience if resilience is not None else Resilience(service, total_timeout=timeout)
        )
        self._max_connections = max_connections
        self._transport = transport
        self._session: aiohttp.ClientSession | None = None
        self._httpx: httpx.AsyncClient | None = None
        self.observers: list[CallObserver] = list(observers)

    async def __aenter__(self) -> Self:
        if self._transport is not None:
            if self._httpx is None:
                import httpx

                self._httpx = httpx.AsyncClient(
                    base_url=self.base_url,
                    headers=self._headers,
                    timeout=httpx.Timeout(
                        self._read_timeout, connect=self._connect_timeout, pool=self._timeout
                    ),
                    transport=self._transport,
                )
        elif self._session is None:
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                connector=aiohttp.TCPConnector(
                    limit=self._max_connections,
                    ssl=_tls_context(),
                    keepalive_timeout=KEEPALIVE_SECONDS,
                ),
                # Waiting for a pooled connection and connecting share `connect`; the
                # budget of the whole call is Resilience's, so no `total` here.
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=self._timeout,
                    sock_connect=self._connect_timeout,
                    sock_read=self._read_timeout,
                ),
                # A gateway serves many clients: a bolt-on's cookies must not follow
                # one client's call into another's.
                cookie_jar=aiohttp.DummyCookieJar(),
                # Nothing read from the environment (.netrc, proxies): settings only.
                trust_env=False,
                raise_for_status=False,
            )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pool; idempotent. Calls made after it fail with ``BackendUnavailable``."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()
        client, self._httpx = self._httpx, None
        if client is not None:
            await client.aclose()

    async def probe(self) -> None:
        """A cheap authenticated call, one attempt outside the breaker (``/readyz``,
        ``gateway check``); each bolt-on's adapter says which call that is."""
        raise NotImplementedError(f"{type(self).__name__} has no probe")

    @property
    def credential_id(self) -> str:
        """A short hash of the credentials this backend is called with, never the credentials.

        Cache keys include it: an answer fetched with one token is not served
        to a deployment configured with another.
        """
        material = "\n".join(f"{k.lower()}={v}" for k, v in sorted(self._headers.items()))
        return hashlib.sha256(material.encode()).hexdigest()[:16]

    async def request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: QueryParams | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        queue: asyncio.Semaphore | None = None,
        resilient: bool = True,
    ) -> Any:
        """Call the bolt-on and return its decoded JSON body.

        Runs under the backend's ``Resilience``: the total budget, the
        bulkhead, the circuit breaker, and retries of connect errors, 429
        and 503 for idempotent calls. ``idempotent`` defaults to the
        method's nature, and a POST with an ``Idempotency-Key`` header counts
        as idempotent; pass ``True`` for a POST the backend de-duplicates by
        its body (an event id), ``False`` to forbid retries.

        Args:
            queue: an adapter's own bound on concurrent calls (the CRM's), waited
                for inside the budget, like the bulkhead: the budget covers
                queueing, retries and the call.
            resilient: ``False`` makes one attempt within the budget, outside the
                breaker, the bulkhead and retries: a health probe must see the
                backend, not the breaker's opinion of it, nor change that opinion.

        Raises:
            BackendTimeout: the call took longer than its budget.
            BackendUnavailable: connection failure, 429, 5xx, open circuit, full bulkhead.
            BackendNotFound: 404.
            BackendRejected: any other 4xx.
        """
        content = orjson.dumps(json) if json is not None else None
        forwarded = outgoing_headers.get()
        send_headers = {**forwarded, **headers} if forwarded and headers else forwarded or headers
        if content is not None:
            send_headers = {**(send_headers or {}), "Content-Type": "application/json"}
        if idempotent is None:
            idempotent = method.upper() in IDEMPOTENT_METHODS or any(
                name.lower() == "idempotency-key" for name in headers or ()
            )
        query = _query(params) if params else None
        started = time.perf_counter()
        last_status: list[int] = []
        outcome = "ok"

        async def attempt() -> Any:
            if self._httpx is not None:
                return await self._send_httpx(
                    method, path, query, content, send_headers, last_status
                )
            session = self._session
            if session is None:
                raise BackendUnavailable(self.service, "client is closed")
            try:
                async with session.request(
                    method,
                    self._base + path,
                    params=query,
                    data=content,
                    headers=send_headers,
                    # A contract has no redirects; following one would carry our
                    # credentials wherever a Location header points.
                    allow_redirects=False,
                ) as response:
                    body = await response.read()
            except TimeoutError as exc:
                # aiohttp's connect and read timeouts; the budget's own timeout is a
                # cancellation here and becomes BackendTimeout in Resilience.
                raise BackendTimeout(self.service, "timed out") from exc
            except aiohttp.ClientError as exc:
                # A ClientResponseError's repr holds the request's headers (credentials):
                # it is not kept as the cause, where a log could print it.
                cause = None if isinstance(exc, aiohttp.ClientResponseError) else exc
                raise BackendUnavailable(self.service, _reason(exc)) from cause
            last_status.append(response.status)
            return self._decode(response.status, body, response.headers.get("Retry-After"))

        try:
            if not resilient:
                return await self._direct(attempt)
            return await self.resilience.call(
                attempt, idempotent=idempotent, retryable=self._retryable, queue=queue
            )
        except BackendError as exc:
            outcome = exc.code
            raise
        finally:
            if self.observers:
                record = CallRecord(
                    self.service,
                    operation,
                    time.perf_counter() - started,
                    outcome,
                    last_status[-1] if last_status else None,
                )
                for observer in self.observers:
                    observer.backend_call(record)

    async def _direct(self, attempt: Callable[[], Awaitable[Any]]) -> Any:
        try:
            async with asyncio.timeout(self._timeout):
                return await attempt()
        except TimeoutError:
            raise BackendTimeout(self.service, "timed out") from None

    async def _send_httpx(
        self,
        method: str,
        path: str,
        query: tuple[tuple[str, str], ...] | None,
        content: bytes | None,
        headers: Mapping[str, str] | None,
        last_status: list[int],
    ) -> Any:
        import httpx

        assert self._httpx is not None
        try:
            response = await self._httpx.request(
                method, path, params=query, content=content, headers=headers
            )
        except httpx.TimeoutException as exc:
            raise BackendTimeout(self.service, "timed out") from exc
        except httpx.HTTPError as exc:
            # The exception text can hold the URL; keep only its class name.
            raise BackendUnavailable(self.service, type(exc).__name__) from exc
        last_status.append(response.status_code)
        return self._decode(
            response.status_code, response.content, response.headers.get("Retry-After")
        )

    def _retryable(self, exc: BackendError) -> bool:
        if exc.status is not None:
            return exc.status in self.resilience.retry.statuses
        cause = exc.__cause__
        return isinstance(cause, _RETRYABLE_TRANSPORT) or (
            self._httpx is not None and isinstance(cause, _retryable_over_httpx())
        )

    def _decode(self, status: int, content: bytes, retry_after: str | None) -> Any:
        if status < 300:
            if not content:
                return None
            try:
                return orjson.loads(content)
            except orjson.JSONDecodeError as exc:
                raise BackendUnavailable(self.service, "invalid JSON", status=status) from exc
        if status < 400:
            # An unexpected redirect (not followed): the bolt-on is misconfigured.
            raise BackendUnavailable(self.service, f"HTTP {status}", status=status)
        if status == 404:
            raise BackendNotFound(self.service, "not found", status=status)
        if status == 429 or status >= 500:
            raise BackendUnavailable(
                self.service,
                f"HTTP {status}",
                status=status,
                retry_after=parse_retry_after(retry_after),
            )
        raise BackendRejected(self.service, f"HTTP {status}", status=status)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle costs about 70 ms; every client of the process shares one.
    return ssl.create_default_context()


def _query(params: QueryParams) -> tuple[tuple[str, str], ...]:
    """``{"sku": ["a", "b"], "limit": 5}`` as the pairs ``sku=a&sku=b&limit=5``."""
    pairs: list[tuple[str, str]] = []
    for name, value in params.items():
        if isinstance(value, list):
            pairs.extend((name, item) for item in value)
        else:
            pairs.append((name, str(value)))
    return tuple(pairs)


def _reason(exc: BaseException) -> str:
    for kind, reason in _REASONS:
        if isinstance(exc, kind):
            return reason
    return type(exc).__name__


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for: delay-seconds or an HTTP-date (RFC 9110 10.2.3).

    ``None`` for a missing or unreadable value; a date in the past is 0.
    """
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000": UTC by RFC 5322
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def chunks(items: list[str], size: int) -> list[list[str]]:
    """Split ``items`` into consecutive slices of at most ``size``."""
    return [items[i : i + size] for i in range(0, len(items), size)]


__all__ = ["BackendError", "HttpBackend", "chunks", "parse_retry_after"]
