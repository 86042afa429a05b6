"""The shape every step of an operation's way through the gateway has.

A request is an ``Exchange`` filled in as it goes (identity, parameters,
context, document, prepared operation); a step is an async callable
``step(exchange, call_next) -> Reply`` that may refuse (raise
``RequestRejected``), answer on its own (a cache hit, a replay), or call the
rest of the chain and look at its ``Reply`` on the way back (store it,
count it). ``chain(steps, terminal)`` composes them, outermost first, the
way Hive Gateway's plugins or Apollo Router's layers wrap each other.

``gateway.http.endpoint`` composes the HTTP chain and
``gateway.http.websocket`` the shorter websocket one from the same steps.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, Protocol

import orjson
from graphql import OperationDefinitionNode
from starlette.requests import HTTPConnection

from gateway.errors import RequestRejected
from gateway.security.clients import Identity

if TYPE_CHECKING:
    from graphql import DocumentNode, ExecutionResult

    from gateway.context import Context
    from gateway.execution.operation import PreparedOperation


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    """The parameters of one GraphQL request, their shapes checked (``http.protocol``).

    ``query`` is ``None`` when the request names a persisted document instead.
    """

    query: str | None
    variables: dict[str, Any] | None = None
    operation_name: str | None = None
    extensions: dict[str, Any] | None = None


class Transport(StrEnum):
    """How the operation arrived: it decides which operations may run."""

    GET = "GET"
    POST = "POST"
    WEBSOCKET = "websocket"


class Outcome(StrEnum):
    """How an operation ended, as metrics and the access log count it."""

    OK = "ok"  # data and no errors
    PARTIAL = "partial"  # data with errors (a bolt-on down, a forbidden field)
    ERROR = "error"  # ran, but produced no data
    REJECTED = "rejected"  # refused before it ran (bad document, limits, rate, auth)


@dataclass(frozen=True, slots=True)
class OperationOutcome:
    """What one operation was and how it ended: the typed hand-off to logs, metrics, traces."""

    outcome: Outcome
    operation: str | None = None
    kind: str | None = None  # "query", "mutation", "subscription"
    codes: tuple[str, ...] = ()
    client_id: str | None = None
    response_cache: str | None = None  # "hit" when answered from the response cache


@dataclass(slots=True)
class Exchange:
    """One GraphQL operation on its way through the chain, filled in step by step.

    Attributes:
        connection: the HTTP request or websocket it came on (headers, scope).
        transport: GET, POST or websocket.
        identity: the authenticated caller (``security.auth``).
        params: the request's parameters (``http.protocol``).
        context: the per-operation ``Context`` resolvers see.
        document: the parsed document.
        operation: the validated operation with coerced variables, ready to run.
        cost: the operation's computed cost (``limits.cost``).
        in_batch: one operation of a batched request (no streamed answer).
        accepts_stream: the client can read an incremental (multipart) answer.
        incremental_spec: the format of those payloads the client reads
            (``gateway.execution.incremental``).
    """

    connection: HTTPConnection
    transport: Transport
    identity: Identity | None = None
    params: GraphQLRequest | None = None
    context: Context | None = None
    document: DocumentNode | None = None
    operation: PreparedOperation | None = None
    cost: int | None = None
    in_batch: bool = False
    accepts_stream: bool = False
    incremental_spec: Literal["20220824", "v0.2"] = "20220824"

    def require_params(self) -> GraphQLRequest:
        assert self.params is not None, "a step before this one reads the parameters"
        return self.params

    def require_context(self) -> Context:
        assert self.context is not None, "a step before this one opens the context"
        return self.context

    def require_operation(self) -> PreparedOperation:
        assert self.operation is not None, "a step before this one prepares the operation"
        return self.operation

    @property
    def client_id(self) -> str:
        return self.identity.client_id if self.identity is not None else "anonymous"

    def operation_label(self) -> tuple[str | None, str | None]:
        """The operation's name and kind, as far as the steps so far have found them."""
        if self.operation is not None:
            return self.operation.name, self.operation.kind.value
        name = self.params.operation_name if self.params is not None else None
        if name is None and self.document is not None:
            operations = [
                d for d in self.document.definitions if isinstance(d, OperationDefinitionNode)
            ]
            if len(operations) == 1 and operations[0].name is not None:
                return operations[0].name.value, operations[0].operation.value
        return name, None


@dataclass(slots=True)
class Reply:
    """What the chain answers for one operation.

    Exactly one of ``result`` (one execution result), ``stream`` (incremental
    payloads or subscription events, each already a response object),
    ``body`` (a stored answer replayed as it was), ``rejection`` (refused
    before it ran) or ``batch`` (the replies of a batch's operations) is set.
    """

    outcome: OperationOutcome
    result: ExecutionResult | None = None
    stream: AsyncIterator[dict[str, Any]] | None = None
    body: bytes | None = None
    rejection: RequestRejected | None = None
    batch: list[Reply] | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def refused(cls, rejection: RequestRejected, exchange: Exchange | None = None) -> Reply:
        """The reply of an operation refused before it ran (named, when it got that far)."""
        name, kind = exchange.operation_label() if exchange is not None else (None, None)
        return cls(
            outcome=OperationOutcome(
                Outcome.REJECTED,
                operation=name,
                kind=kind,
                codes=(rejection.code,),
                client_id=exchange.client_id if exchange and exchange.identity else None,
            ),
            rejection=rejection,
            status=rejection.status,
            headers=rejection.headers,
        )

    @property
    def operations(self) -> list[OperationOutcome]:
        """The outcome of each operation answered (several for a batch)."""
        if self.batch is not None:
            return [reply.outcome for reply in self.batch]
        return [self.outcome]

    def response_object(self) -> dict[str, Any]:
        """The GraphQL response (``data``, ``errors``, ``extensions``) as a JSON-ready dict."""
        if self.rejection is not None:
            return {"errors": self.rejection.formatted()}
        assert self.result is not None, "a stream or a stored body has no single response"
        formatted: dict[str, Any] = {}
        if self.result.errors:
            formatted["errors"] = [error.formatted for error in self.result.errors]
        formatted["data"] = self.result.data
        extensions = {**(self.result.extensions or {}), **self.extensions}
        if extensions:
            formatted["extensions"] = extensions
        return formatted

    def rendered(self) -> bytes:
        """The response body: the stored one, the response object, or a batch's array."""
        if self.body is None:
            if self.batch is not None:
                self.body = b"[" + b",".join(reply.rendered() for reply in self.batch) + b"]"
            else:
                self.body = orjson.dumps(self.response_object())
        return self.body


Handler = Callable[[Exchange], Awaitable[Reply]]


class Step(Protocol):
    """One link of the chain: do its part, and call ``call_next`` for the rest (or not)."""

    async def __call__(self, exchange: Exchange, call_next: Handler) -> Reply: ...


def chain(steps: Sequence[Step], terminal: Handler) -> Handler:
    """``steps`` wrapped around ``terminal``, the first step outermost."""
    handler = terminal
    for step in reversed(steps):
        handler = _link(step, handler)
    return handler


def _link(step: Step, call_next: Handler) -> Handler:
    # A partial, not a wrapping coroutine: calling it returns the step's own coroutine,
    # so a request pays no extra frame per step (every step names it ``call_next``).
    return functools.partial(step, call_next=call_next)


__all__ = [
    "Exchange",
    "GraphQLRequest",
    "Handler",
    "OperationOutcome",
    "Outcome",
    "Reply",
    "Step",
    "Transport",
    "chain",
]
