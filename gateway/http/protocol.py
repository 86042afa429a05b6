"""The wire rules of GraphQL over HTTP: parameters, batches, media types.

Follows the GraphQL-over-HTTP specification:

- POST with ``Content-Type: application/json`` carries one request object
  (or, with batching on, a JSON array of them: Apollo's BatchHttpLink);
- GET carries ``query``, ``variables``, ``operationName`` and
  ``extensions`` in the query string, and runs queries only;
- the response media type is negotiated from ``Accept`` with its q-values:
  ``application/graphql-response+json`` for a client that names it,
  ``application/json`` for one that names that, sends ``*/*`` or no Accept
  at all (the specification's advice for clients that may predate the new
  type: they read ``application/json`` and expect 200s), ``multipart/mixed``
  for incremental delivery (``@defer``/``@stream``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.errors import ErrorCode, RequestRejected
from gateway.execution.incremental import DEFAULT_SPEC, Spec
from gateway.pipeline import GraphQLRequest

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"
MULTIPART_MIXED = "multipart/mixed"


def parse_params(params: Any, *, where: str = "") -> GraphQLRequest:
    """Check one request object's parameters; errors name the parameter.

    Args:
        params: the decoded JSON object (or the query string's values).
        where: prefix for messages about one operation of a batch (``"[2] "``).
    """
    if not isinstance(params, dict):
        raise RequestRejected(f"{where}the request must be a JSON object")
    query = params.get("query")
    if query is not None and not isinstance(query, str):
        # Absent is fine when a persisted document is named (APQ); Parse insists otherwise.
        raise RequestRejected(f"{where}query: must be a string")
    variables = params.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise RequestRejected(f"{where}variables: must be a JSON object")
    operation_name = params.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestRejected(f"{where}operationName: must be a string")
    extensions = params.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise RequestRejected(f"{where}extensions: must be a JSON object")
    return GraphQLRequest(query or None, variables, operation_name or None, extensions)


def query_string_params(values: Mapping[str, str]) -> dict[str, Any]:
    """A GET request's parameters, ``variables`` and ``extensions`` decoded from JSON."""
    return {
        "query": values.get("query"),
        "variables": _json_param(values.get("variables"), "variables"),
        "operationName": values.get("operationName") or None,
        "extensions": _json_param(values.get("extensions"), "extensions"),
    }


def _json_param(value: str | None, name: str) -> Any:
    if value is None or value == "":
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise RequestRejected(f"{name}: is not valid JSON") from exc


def batch_items(body: Any, *, max_batch: int) -> list[Any] | None:
    """The operations of a batched body, or ``None`` when the body is one request.

    Args:
        max_batch: the largest batch accepted; 0 turns batching off.
    """
    if not isinstance(body, list):
        return None
    if max_batch <= 0:
        raise RequestRejected(
            "batched requests (a JSON array) are turned off: send one request object, "
            "or set GATEWAY_BATCH_MAX_OPERATIONS"
        )
    if not body:
        raise RequestRejected("a batch must hold at least one request object")
    if len(body) > max_batch:
        raise RequestRejected(
            f"a batch may hold at most {max_batch} operations (this one has {len(body)})",
            code=ErrorCode.BATCH_TOO_LARGE,
        )
    return body


@dataclass(frozen=True, slots=True)
class MediaRange:
    """One entry of an ``Accept`` header."""

    type: str  # "application/json", "application/*", "*/*"
    quality: float
    params: tuple[tuple[str, str], ...] = ()

    def matches(self, media_type: str) -> bool:
        if self.type in ("*/*", media_type):
            return True
        major, _, minor = self.type.partition("/")
        return minor == "*" and media_type.startswith(major + "/")

    @property
    def specificity(self) -> int:
        return 0 if self.type == "*/*" else 1 if self.type.endswith("/*") else 2


@functools.lru_cache(maxsize=256)
def parse_accept(accept: str) -> tuple[MediaRange, ...]:
    """The media ranges of an ``Accept`` header (malformed entries skipped).

    Memoised: a client sends the same header on every request, and each request
    asks twice (the media type, the incremental format). Bounded, so a client
    varying its header only evicts entries.
    """
    ranges: list[MediaRange] = []
    for part in accept.split(","):
        media, *raw_params = (item.strip() for item in part.split(";"))
        if "/" not in media:
            continue
        quality = 1.0
        params: list[tuple[str, str]] = []
        for raw in raw_params:
            key, _, value = raw.partition("=")
            key, value = key.strip().lower(), value.strip().strip('"')
            if key == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
            elif key:
                params.append((key, value))
        ranges.append(MediaRange(media.lower(), quality, tuple(params)))
    return tuple(ranges)


#: What /graphql answers single results in, our preference first on a tie of named types.
RESPONSE_TYPES = (GRAPHQL_RESPONSE_JSON, APPLICATION_JSON)


def negotiate(accept: str) -> str | None:
    """The response media type for an ``Accept`` header; ``None`` if none is acceptable.

    The highest q-value wins; among equal ones the most specific range. A
    client naming both types equally gets ``application/graphql-response+json``;
    one that only matches through a wildcard (``*/*``, ``application/*``) or
    sends no ``Accept`` gets ``application/json``, which every client reads.

    Example:
        >>> negotiate("application/json;q=0.9, application/graphql-response+json")
        'application/graphql-response+json'
        >>> negotiate("*/*")
        'application/json'
    """
    if not accept.strip():
        return APPLICATION_JSON
    ranges = parse_accept(accept)
    best: tuple[float, int, int] | None = None
    chosen: str | None = None
    for preference, media_type in enumerate(RESPONSE_TYPES):
        matching = [r for r in ranges if r.matches(media_type)]
        if not matching:
            continue
        # The most specific range that matches decides the quality (RFC 9110 12.5.1).
        decisive = max(matching, key=lambda r: r.specificity)
        if decisive.quality <= 0:
            continue
        # Named outright, the specification's type wins a tie; through a wildcard, JSON does.
        tie_break = -preference if decisive.specificity == 2 else preference
        rank = (decisive.quality, decisive.specificity, tie_break)
        if best is None or rank > best:
            best, chosen = rank, media_type
    return chosen


def accepts_multipart(accept: str) -> bool:
    """True when the client reads ``multipart/mixed`` incremental answers.

    Apollo Client sends ``multipart/mixed;deferSpec=20220824``, urql and
    Relay ``multipart/mixed``; a bare ``*/*`` does not count: a client that
    never asked for parts must not get them.
    """
    return any(r.type == MULTIPART_MIXED and r.quality > 0 for r in parse_accept(accept) if accept)


def incremental_spec(accept: str) -> Spec | None:
    """The ``@defer``/``@stream`` payload format the client reads, or ``None`` for none.

    ``multipart/mixed;incrementalSpec=v0.2`` (Apollo Client's
    ``GraphQL17Alpha9Handler``) gets graphql-core's own format; any other
    ``multipart/mixed`` (``deferSpec=20220824``: Apollo's default handler,
    urql, Relay) the format with a path per entry.
    """
    if not accept:
        return None
    specs = [r for r in parse_accept(accept) if r.type == MULTIPART_MIXED and r.quality > 0]
    if not specs:
        return None
    best = max(specs, key=lambda r: r.quality)
    if ("incrementalspec", "v0.2") in best.params:
        return "v0.2"
    return DEFAULT_SPEC


__all__ = [
    "APPLICATION_JSON",
    "GRAPHQL_RESPONSE_JSON",
    "MULTIPART_MIXED",
    "MediaRange",
    "accepts_multipart",
    "batch_items",
    "incremental_spec",
    "negotiate",
    "parse_accept",
    "parse_params",
    "query_string_params",
]
