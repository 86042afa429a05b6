"""Every error a client may see, in one tree, and the one list of their codes.

::

    RequestRejected              the request (or one operation of a batch) did not run:
    │                            an HTTP status, a code, safe message; no ``data`` entry
    └── GraphQLRequestError      the document could not run (parse, validation, limits,
                                 operation or variables): 400, or 200 under application/json
    PublicError                  a field error whose message is safe to show
    ├── UserInputError           BAD_USER_INPUT: a client's argument, named in ``field``
    └── security.permissions.Forbidden   FORBIDDEN: the scope the field needs
    adapters.errors.BackendError UPSTREAM_*: a backend failed; ``extensions.service`` names it

Any other exception is a bug: the client sees "Internal server error" and
the request id (``gateway.execution.masking``), the log gets the traceback.
Expected failures of a mutation are not errors at all but ``userErrors`` in
its payload (``adapters.core.writes.WriteErrorCode``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from graphql import GraphQLError

from adapters.errors import BackendError


class ErrorCode(StrEnum):
    """The ``extensions.code`` of every error the gateway itself raises."""

    # The HTTP request
    BAD_REQUEST = "BAD_REQUEST"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    CSRF_REJECTED = "CSRF_REJECTED"
    NOT_ACCEPTABLE = "NOT_ACCEPTABLE"
    BATCH_TOO_LARGE = "BATCH_TOO_LARGE"
    # The document and its operation
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    OPERATION_RESOLUTION_FAILURE = "OPERATION_RESOLUTION_FAILURE"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    # Limits
    QUERY_TOO_LARGE = "QUERY_TOO_LARGE"
    QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
    TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
    TOO_MANY_FRAGMENT_SPREADS = "TOO_MANY_FRAGMENT_SPREADS"
    TOO_MANY_FIELD_MERGES = "TOO_MANY_FIELD_MERGES"
    QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
    RATE_LIMITED = "RATE_LIMITED"
    # Access
    FORBIDDEN = "FORBIDDEN"
    OPERATION_NOT_ALLOWED = "OPERATION_NOT_ALLOWED"
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    PERSISTED_QUERY_NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
    # Idempotency-Key
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    IDEMPOTENCY_KEY_IN_PROGRESS = "IDEMPOTENCY_KEY_IN_PROGRESS"
    # Ours
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


class RequestRejected(Exception):
    """A request-level refusal: nothing of the operation ran.

    Args:
        message: safe to show; names what was wrong, never what was sent.
        status: the HTTP status.
        code: ``extensions.code``.
        headers: response headers (``Retry-After``, ``WWW-Authenticate``, ``Allow``).
        extensions: more ``extensions`` beside the code.
        errors: several GraphQL errors (each validation error, with its
            locations) instead of one made of ``message``.

    Example:
        >>> RequestRejected("variables: must be a JSON object").formatted()
        [{'message': 'variables: must be a JSON object', 'extensions': {'code': 'BAD_REQUEST'}}]
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        code: ErrorCode | str = ErrorCode.BAD_REQUEST,
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, Any] | None = None,
        errors: Sequence[GraphQLError] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = str(code)
        self.headers = dict(headers or {})
        self.extensions: dict[str, Any] = {"code": self.code, **(extensions or {})}
        self.errors = tuple(errors)

    def status_for(self, media_type: str) -> int:
        """The HTTP status to answer with in ``media_type``."""
        return self.status

    def formatted(self) -> list[dict[str, Any]]:
        """The ``errors`` entry of the response."""
        if not self.errors:
            return [{"message": self.message, "extensions": self.extensions}]
        formatted: list[dict[str, Any]] = []
        for error in self.errors:
            entry = dict(error.formatted)
            entry["extensions"] = {**self.extensions, **(error.extensions or {})}
            formatted.append(entry)
        return formatted


class GraphQLRequestError(RequestRejected):
    """The document, its operation or its variables cannot run (a GraphQL "request error").

    Under ``application/graphql-response+json`` that is a 400; under the
    legacy ``application/json`` the GraphQL-over-HTTP specification keeps 200.
    """

    def status_for(self, media_type: str) -> int:
        return 200 if media_type == "application/json" else self.status

    @classmethod
    def of(cls, errors: Sequence[GraphQLError], code: ErrorCode) -> GraphQLRequestError:
        """One refusal carrying graphql-core's errors (their messages and locations)."""
        return cls(errors[0].message, code=code, errors=errors)


class PublicError(Exception):
    """A field error whose message and extensions are safe to show to a client."""

    code: str = ErrorCode.BAD_REQUEST

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": self.code}


class UserInputError(PublicError):
    """An argument a client sent is invalid; ``field`` names it."""

    code = ErrorCode.BAD_USER_INPUT

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


__all__ = [
    "PUBLIC_ERRORS",
    "ErrorCode",
    "GraphQLRequestError",
    "PublicError",
    "RequestRejected",
    "UserInputError",
    "is_public",
]
