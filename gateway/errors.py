"""Errors a GraphQL client may see, and the masking of every other one.

Expected failures carry ``extensions.code``: bad input (``BAD_USER_INPUT``,
naming the field), a backend failure (``UPSTREAM_UNAVAILABLE`` /
``UPSTREAM_TIMEOUT`` with ``extensions.service``). Anything else is a bug:
the client sees "Internal server error" and the request id, the log gets
the traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from adapters.errors import BackendError

log = logging.getLogger("gateway.errors")


class PublicError(Exception):
    """An error whose message and extensions are safe to show to a client."""

    code = "BAD_REQUEST"

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": self.code}


class UserInputError(PublicError):
    """An argument a client sent is invalid; ``field`` names it."""

    code = "BAD_USER_INPUT"

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        super().__init__(f"{field}: {problem}")

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, "field": self.field}


PUBLIC_ERRORS: tuple[type[Exception], ...] = (PublicError, BackendError)


def is_public(error: GraphQLError) -> bool:
    """Parse and validation errors have no original error and are safe to show."""
    original = error.original_error
    return original is None or isinstance(original, PUBLIC_ERRORS)


class MaskInternalErrors(SchemaExtension):
    """Replace every unexpected error by "Internal server error" plus the request id."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        request_id = _request_id(self.execution_context.context)
        result.errors = [
            error if is_public(error) else _masked(error, request_id) for error in result.errors
        ]


def _masked(error: GraphQLError, request_id: str | None) -> GraphQLError:
    extensions: dict[str, Any] = {"code": "INTERNAL_SERVER_ERROR"}
    if request_id:
        extensions["requestId"] = request_id
    return GraphQLError(
        "Internal server error",
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )


def _request_id(context: object) -> str | None:
    value = getattr(context, "request_id", None)
    return value if isinstance(value, str) else None


def log_unexpected(errors: list[GraphQLError], request_id: str | None) -> None:
    """Log the errors a client will see masked, with their tracebacks."""
    for error in errors:
        if is_public(error):
            continue
        original = error.original_error
        log.error(
            "unexpected error at %s (request %s)",
            ".".join(str(p) for p in error.path or ()),
            request_id,
            exc_info=(type(original), original, original.__traceback__) if original else None,
        )
