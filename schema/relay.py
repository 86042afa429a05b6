"""Relay plumbing: global ids, opaque cursors, and the generic connection.

Global ids are ``base64("<Type>:<primary key>")``; cursors are
``base64("cursor:<primary key>")`` so pagination is keyset on the primary key
and stays stable while rows are inserted.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, Protocol, TypeVar

import strawberry

from gateway.errors import UserInputError
from resolvers.arguments import primary_key

NodeT = TypeVar("NodeT")

_CURSOR_PREFIX = "cursor:"


def _b64encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _b64decode(value: str) -> str:
    padded = value + "=" * (-len(value) % 4)
    return base64.urlsafe_b64decode(padded.encode()).decode()


def to_global_id(type_name: str, pk: int) -> str:
    return _b64encode(f"{type_name}:{pk}")


def from_global_id(global_id: str) -> tuple[str, int]:
    """Split a global id into its type name and primary key.

    Raises:
        UserInputError: the id was not made by this gateway (which includes a
            key no id column can hold: it must not reach the database).
    """
    try:
        type_name, _, digits = _b64decode(global_id).partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise UserInputError("id", "is not a valid global id") from exc
    pk = primary_key(digits)
    if pk is None:
        raise UserInputError("id", "is not a valid global id")
    return type_name, pk


def to_cursor(pk: int) -> str:
    return _b64encode(f"{_CURSOR_PREFIX}{pk}")


def from_cursor(cursor: str | None, field: str = "after") -> int | None:
    """The primary key a cursor points after; ``None`` for no cursor.

    Raises:
        UserInputError: the cursor was not made by this gateway.
    """
    if cursor is None:
        return None
    try:
        text = _b64decode(cursor)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise UserInputError(field, "is not a valid cursor") from exc
    pk = primary_key(text[len(_CURSOR_PREFIX) :]) if text.startswith(_CURSOR_PREFIX) else None
    if pk is None:
        raise UserInputError(field, "is not a valid cursor")
    return pk


def page_size(first: int | None, *, default: int, maximum: int) -> int:
    """The number of rows to fetch; ``first`` outside 0..maximum is a user error."""
    if first is None:
        return min(default, maximum)
    if first < 0 or first > maximum:
        raise UserInputError("first", f"must be between 0 and {maximum}")
    return first


class HasPk(Protocol):
    @property
    def id(self) -> int: ...


@strawberry.type(description="Where a page ends and whether more follow.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type(description="A node of a page with the cursor that points at it.")
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


@strawberry.type(description="A page of a list, Relay style.")
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="Number of items in the whole list (all pages).")
    async def total_count(self) -> int:
        return await self.count()


def build_connection(
    records: Sequence[HasPk],
    nodes: Sequence[NodeT],
    *,
    has_next: bool,
    after: int | None,
    count: Callable[[], Awaitable[int]],
) -> Connection[NodeT]:
    """Build a connection from records (for cursors) and their GraphQL nodes."""
    edges = [
        Edge(cursor=to_cursor(record.id), node=node)
        for record, node in zip(records, nodes, strict=True)
    ]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        count=count,
    )
