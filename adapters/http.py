"""The shared base of every bolt-on adapter reached over HTTP.

One ``httpx.AsyncClient`` per backend, opened in ``__aenter__`` (the app's
lifespan enters it) and closed in ``aclose()``. Every call goes through
``request()``, the one place that maps httpx exceptions and error statuses
into the ``adapters.errors`` tree, so resilience (retries, breaker,
bulkhead) has one seam to wrap.
"""

from __future__ import annotations

import functools
import hashlib
import ssl
import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Self

import httpx
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

QueryParams = Mapping[str, str | int | list[str]]

#: Methods that may be repeated without changing the result (RFC 9110, section 9.2.2).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

#: httpx failures that happen before the backend saw the request (or on a
#: keep-alive connection it had already closed): safe to retry an idempotent call.
_RETRYABLE_TRANSPORT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError)


class HttpBackend:
    """A bolt-on reached over HTTP with one pooled keep-alive client.

    Args:
        service: the backend's name as clients see it in ``extensions.service``.
        base_url: the bolt-on's base URL (a deployment setting, never a constant).
        headers: credentials and fixed headers sent with every call.
        timeout: the whole budget of one call, retries included, in seconds.
        connect_timeout: the budget of opening one connection.
        read_timeout: the budget of one attempt's wait for the response
            (default: the whole budget).
        max_connections: the keep-alive pool size, sized for the fan-out.
        observers: told of every call (metrics, tracing, logs).
        resilience: retries, circuit breaker and bulkhead (``adapters.resilience``);
            by default retries only, within ``timeout``.
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
        self._headers = dict(headers or {})
        self._timeout = timeout
        self._connect_timeout = min(connect_timeout, timeout)
        self._read_timeout = min(read_timeout, timeout) if read_timeout is not None else timeout
        self.resilience = (
            resilience if resilience is not None else Resilience(service, total_timeout=timeout)
        )
        self._max_connections = max_connections
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self.observers: list[CallObserver] = list(observers)

    async def __aenter__(self) -> Self:
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self.base_url,
                headers=self._headers,
                timeout=httpx.Timeout(
                    self._read_timeout,
                    connect=self._connect_timeout,
                    pool=self._timeout,
                ),
                limits=httpx.Limits(
                    max_connections=self._max_connections,
                    max_keepalive_connections=self._max_connections,
                ),
                transport=self._transport,
                verify=_tls_context(),
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
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    @property
    def credential_id(self) -> str:
        """A short hash of the credentials this backend is called with, never the credentials.

        Cache keys include it: an answer fetched with one token is not served
        to a deployment configured with another.
        """
        material = "\n".join(f"{k.lower()}={v}" for k, v in sorted(self._headers.items()))
        return hashlib.sha256(material.encode()).hexdigest()[:16]

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            raise BackendUnavailable(self.service, "client is closed")
        return self._client

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
    ) -> Any:
        """Call the bolt-on and return its decoded JSON body.

        Runs under the backend's ``Resilience``: the total budget, the
        bulkhead, the circuit breaker, and retries of connect errors, 429
        and 503 for idempotent calls. ``idempotent`` defaults to the
        method's nature, and a POST with an ``Idempotency-Key`` header counts
        as idempotent; pass ``True`` for a POST the backend de-duplicates by
        its body (an event id), ``False`` to forbid retries.

        Raises:
            BackendTimeout: the call took longer than its budget.
            BackendUnavailable: connection failure, 429, 5xx, open circuit, full bulkhead.
            BackendNotFound: 404.
            BackendRejected: any other 4xx.
        """
        content = orjson.dumps(json) if json is not None else None
        send_headers = {**(outgoing_headers.get() or {}), **(headers or {})}
        if content is not None:
            send_headers["Content-Type"] = "application/json"
        if idempotent is None:
            idempotent = method.upper() in IDEMPOTENT_METHODS or any(
                name.lower() == "idempotency-key" for name in send_headers
            )
        started = time.perf_counter()
        last_status: list[int] = []
        outcome = "ok"

        async def attempt() -> Any:
            try:
                response = await self.client.request(
                    method, path, params=params, content=content, headers=send_headers
                )
            except httpx.TimeoutException as exc:
                raise BackendTimeout(self.service, "timed out") from exc
            except httpx.HTTPError as exc:
                # The exception text can hold the URL; keep only its class name.
                raise BackendUnavailable(self.service, type(exc).__name__) from exc
            last_status.append(response.status_code)
            return self._decode(response)

        try:
            return await self.resilience.call(
                attempt, idempotent=idempotent, retryable=self._retryable
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

    def _retryable(self, exc: BackendError) -> bool:
        if exc.status is not None:
            return exc.status in self.resilience.retry.statuses
        return isinstance(exc.__cause__, _RETRYABLE_TRANSPORT)

    def _decode(self, response: httpx.Response) -> Any:
        status = response.status_code
        if status < 400:
            if not response.content:
                return None
            try:
                return orjson.loads(response.content)
            except orjson.JSONDecodeError as exc:
                raise BackendUnavailable(self.service, "invalid JSON", status=status) from exc
        if status == 404:
            raise BackendNotFound(self.service, "not found", status=status)
        if status == 429 or status >= 500:
            raise BackendUnavailable(
                self.service,
                f"HTTP {status}",
                status=status,
                retry_after=_retry_after(response.headers.get("Retry-After")),
            )
        raise BackendRejected(self.service, f"HTTP {status}", status=status)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle costs about 70 ms; every client of the process shares one.
    return ssl.create_default_context()


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def chunks(items: list[str], size: int) -> list[list[str]]:
    """Split ``items`` into consecutive slices of at most ``size``."""
    return [items[i : i + size] for i in range(0, len(items), size)]


__all__ = ["BackendError", "HttpBackend", "chunks"]
