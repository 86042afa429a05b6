"""Reading a request's GraphQL parameters: the GET query string, or the POST body.

The body is read only after the caller is authenticated, never past
``max_body_bytes`` (declared or streamed), and must be UTF-8 JSON sent as
``application/json`` (which also keeps browsers from posting it cross-site
without a CORS preflight). A JSON array is a batch: each of its
operations goes through the rest of the chain alone, as if sent on its own
(authorized, costed, rate-limited and answered separately), concurrently.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import orjson
from starlette.requests import Request

from gateway.errors import RequestRejected
from gateway.http.idempotency import HEADER as IDEMPOTENCY_HEADER
from gateway.http.protocol import (
    APPLICATION_JSON,
    batch_items,
    parse_params,
    query_string_params,
)
from gateway.pipeline import Exchange, Handler, OperationOutcome, Outcome, Reply, Transport


class ReadParams:
    """Step: the operation's parameters; a batch fans out into one exchange per operation.

    Args:
        max_body_bytes: the largest body accepted (413 past it).
        max_batch: the most operations a batch may hold; 0 refuses batches.
    """

    def __init__(self, *, max_body_bytes: int, max_batch: int) -> None:
        self.max_body_bytes = max_body_bytes
        self.max_batch = max_batch

    async def __call__(self, exchange: Exchange, call_next: Handler) -> Reply:
        request = exchange.connection
        assert isinstance(request, Request)
        if exchange.transport is Transport.GET:
            exchange.params = parse_params(query_string_params(request.query_params))
            return await call_next(exchange)
        body = await self.read_json(request)
        items = batch_items(body, max_batch=self.max_batch)
        if items is None:
            exchange.params = parse_params(body)
            return await call_next(exchange)
        if IDEMPOTENCY_HEADER in request.headers:
            # One key promises one execution; a batch holds several operations.
            raise RequestRejected(
                "Idempotency-Key: cannot be used with a batched request; "
                "send the mutation on its own"
            )
        replies = await asyncio.gather(
            *(self._one(exchange, item, index, call_next) for index, item in enumerate(items))
        )
        return Reply(
            outcome=OperationOutcome(Outcome.OK, client_id=exchange.client_id), batch=list(replies)
        )

    async def _one(self, exchange: Exchange, item: Any, index: int, call_next: Handler) -> Reply:
        operation = replace(exchange, in_batch=True, accepts_stream=False)
        try:
            operation.params = parse_params(item, where=f"[{index}] ")
            return await call_next(operation)
        except RequestRejected as exc:
            return Reply.refused(exc, operation)

    def _too_large(self) -> RequestRejected:
        return RequestRejected(f"the body is larger than {self.max_body_bytes} bytes", status=413)

    async def read_json(self, request: Request) -> Any:
        """The body as JSON, its type, charset and size checked first."""
        media, _, params = request.headers.get("content-type", "").partition(";")
        if media.strip().lower() != APPLICATION_JSON:
            raise RequestRejected("Content-Type must be application/json", status=415)
        charset = _charset(params)
        if charset not in (None, "utf-8", "utf8"):
            raise RequestRejected(f"the body must be UTF-8 (not {charset})", status=415)
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise self._too_large()
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise self._too_large()
            chunks.append(chunk)
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        if not body or body.isspace():
            raise RequestRejected("the body is empty: send a JSON object with a query")
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise RequestRejected("the body is not valid JSON") from exc


def _charset(params: str) -> str | None:
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None


__all__ = ["ReadParams"]
