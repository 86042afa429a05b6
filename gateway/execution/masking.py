"""Unexpected errors become "Internal server error" and the request id; the log gets the rest.

Built on strawberry's ``MaskErrors``: it decides *what* to mask with
``should_mask_error`` and *how* with ``anonymise_error``; we keep every
error the gateway raised on purpose (``gateway.errors.is_public``) and give
the masked ones a code and the request id, so a client can quote it and an
operator can find the traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from gateway.errors import ErrorCode, is_public

log = logging.getLogger("gateway.errors")

MASKED_MESSAGE = "Internal server error"


class MaskInternalErrors(MaskErrors):
    """Masks what is not public, naming the request (see the module docstring)."""

    def __init__(self, request_id: str | None) -> None:
        super().__init__(should_mask_error=_is_internal, error_message=MASKED_MESSAGE)
        self.request_id = request_id

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": ErrorCode.INTERNAL_SERVER_ERROR.value}
        if self.request_id:
            masked.extensions["requestId"] = self.request_id
        return masked


def _is_internal(error: GraphQLError) -> bool:
    return not is_public(error)


def masked(errors: Sequence[GraphQLError], request_id: str | None) -> list[GraphQLError]:
    """``errors`` as a client may see them; each unexpected one logged with its traceback."""
    if all(is_public(error) for error in errors):
        return list(errors)
    log_unexpected(errors, request_id)
    masker = MaskInternalErrors(request_id)
    return [
        masker.anonymise_error(error) if masker.should_mask_error(error) else error
        for error in errors
    ]


def log_unexpected(errors: Sequence[GraphQLError], request_id: str | None) -> None:
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


__all__ = ["MASKED_MESSAGE", "MaskInternalErrors", "log_unexpected", "masked"]
