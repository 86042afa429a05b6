"""From parameters to a runnable operation: parse, validate, pick it, coerce its variables.

Each is a step (``gateway.pipeline``). Everything that goes wrong here is a
GraphQL *request error*: nothing ran, the response has no ``data`` entry,
and ``extensions.code`` says which kind (``GRAPHQL_PARSE_FAILED``,
``GRAPHQL_VALIDATION_FAILED``, ``OPERATION_RESOLUTION_FAILURE``,
``BAD_USER_INPUT`` for variables).

The operation is picked once, here, by the rules of the specification:
a document with several operations needs ``operationName``, and an unknown
name is an error. Every later step (permissions, cost, idempotency) and the
executor use this same choice.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    DirectiveNode,
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    Visitor,
    get_operation_ast,
    visit,
)
from graphql.execution import Executor
from graphql.execution.executor_throwing_on_incremental import ExecutorThrowingOnIncremental
from graphql.execution.incremental.incremental_executor import IncrementalExecutor

from gateway.context import ContextFactory
from gateway.errors import ErrorCode, GraphQLRequestError, RequestRejected
from gateway.execution.documents import Documents
from gateway.execution.operation import PreparedOperation
from gateway.observability.request_id import request_id
from gateway.pipeline import Exchange, Handler, Reply, Transport

#: Variable coercion reports at most this many errors (graphql-core's default is 50).
_MAX_COERCION_ERRORS = 20


class OpenContext:
    """Step: give the operation its own ``Context`` (fresh loaders: nothing leaks between them)."""

    def __init__(self, make: ContextFactory) -> None:
        self.make = make

    async def __call__(self, exchange: Exchange, call_next: Handler) -> Reply:
        exchange.context = self.make(request_id(), exchange.identity)
        return await call_next(exchange)


class Parse:
    """Step: the document of ``params.query`` (cached by its text)."""

    def __init__(self, documents: Documents) -> None:
        self.documents = documents

    async def __call__(self, exchange: Exchange, call_next: Handler) -> Reply:
        query = exchange.require_params().query
        if query is None or not query.strip():
            raise RequestRejected("query: a non-empty string is required")
        exchange.document = self.documents.parse(query)
        return await call_next(exchange)


class Validate:
    """Step: the specification's validation rules and ours (cached by the document's text)."""

    def __init__(self, documents: Documents) -> None:
        self.documents = documents

    async def __call__(self, exchange: Exchange, call_next: Handler) -> Reply:
        assert exchange.document is not None
        errors = self.documents.validate(exchange.require_params().query or "", exchange.document)
        if errors:
            raise GraphQLRequestError.of(errors, ErrorCode.GRAPHQL_VALIDATION_FAILED)
        return await call_next(exchange)


class Resolve:
    """Step: pick the operation and coerce its variables; GET runs queries only."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema

    async def __call__(self, exchange: Exchange, call_next: Handler) -> Reply:
        params = exchange.require_params()
        document = exchange.document
        assert document is not None
        definition = pick_operation(document, params.operation_name)
        _check_transport(definition.operation, exchange.transport)
        # Most documents never mention the directives: skip the walk for them.
        query = params.query or ""
        incremental = (
            ("defer" in query or "stream" in query)
            and exchange.accepts_stream
            and not exchange.in_batch
            and definition.operation is not OperationType.SUBSCRIPTION
            and _uses_incremental_delivery(definition, document)
        )
        executor_class: type[Executor[Any]]
        if definition.operation is OperationType.SUBSCRIPTION:
            # graphql-core's own choice: subscriptions' events never defer.
            executor_class = ExecutorThrowingOnIncremental
        elif incremental:
            executor_class = IncrementalExecutor
        else:
            # A client that reads one response gets exactly the result the document
            # would have without @defer and @stream (graphql-core's plain executor
            # ignores them): nulls bubble and errors land as they would there.
            executor_class = Executor
        executor = executor_class.build(
            self.schema,
            document,
            None,
            exchange.require_context(),
            params.variables,
            params.operation_name,
            max_coercion_errors=_MAX_COERCION_ERRORS,
        )
        if isinstance(executor, list):
            raise GraphQLRequestError.of(_in_json_terms(executor), ErrorCode.BAD_USER_INPUT)
        exchange.operation = PreparedOperation(definition, executor, incremental)
        return await call_next(exchange)


def _in_json_terms(errors: list[GraphQLError]) -> list[GraphQLError]:
    """graphql-core's coercion messages say ``None`` where the client sent JSON's ``null``."""
    for error in errors:
        error.message = error.message.replace(" to be None", " to be null")
    return errors


def pick_operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode:
    """The operation to run, by the specification's rules (graphql-core's ``get_operation_ast``).

    Raises:
        GraphQLRequestError: ``OPERATION_RESOLUTION_FAILURE`` when the name is
            unknown, or missing while the document has several operations.
    """
    operation = get_operation_ast(document, operation_name)
    if operation is not None:
        return operation
    if operation_name is not None:
        message = f"Unknown operation named '{operation_name}'."
    elif any(isinstance(d, OperationDefinitionNode) for d in document.definitions):
        message = "Must provide operation name if query contains multiple operations."
    else:
        message = "Must provide an operation."
    raise GraphQLRequestError(message, code=ErrorCode.OPERATION_RESOLUTION_FAILURE)


def _check_transport(kind: OperationType, transport: Transport) -> None:
    if transport is Transport.GET and kind is not OperationType.QUERY:
        raise RequestRejected(
            f"only queries may be sent with GET; send this {kind.value} with POST",
            status=405,
            headers={"Allow": "POST"},
        )
    if transport is not Transport.WEBSOCKET and kind is OperationType.SUBSCRIPTION:
        raise RequestRejected(
            "subscriptions run over the websocket at /graphql (graphql-transport-ws)",
            status=405,
            headers={"Allow": "GET, POST"},
        )


class _DirectiveFinder(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_directive(self, node: DirectiveNode, *_: Any) -> Any:
        if node.name.value in ("defer", "stream"):
            self.found = True
            return Visitor.BREAK
        return None


def _uses_incremental_delivery(definition: OperationDefinitionNode, document: DocumentNode) -> bool:
    finder = _DirectiveFinder()
    visit(definition, finder)
    for fragment in document.definitions:
        if finder.found:
            break
        if isinstance(fragment, FragmentDefinitionNode):
            visit(fragment, finder)
    return finder.found


__all__ = ["OpenContext", "Parse", "PreparedOperation", "Resolve", "Validate", "pick_operation"]
