"""``@defer`` and ``@stream`` payloads, in the format the client reads.

graphql-core produces the current draft's format (Apollo calls it
``incrementalSpec=v0.2``): an initial result with ``pending`` ids, then
payloads whose ``incremental`` entries point at a pending id (plus a
``subPath``), and ``completed`` ids, with errors when a deferred fragment
or a stream failed. Most clients read the older format of Apollo's
``deferSpec=20220824`` (Apollo Client's ``Defer20220824Handler``, urql,
Relay): each incremental entry carries its own ``path`` and ``label``,
stream entries the index of their first item, and a failed fragment is an
entry with ``data: null`` (a failed stream ``items: null``) and its errors.

``Payloads`` yields either, masking unexpected errors on the way and
keeping every error it let through in ``errors`` (for the access log).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal

from graphql import GraphQLError
from graphql.execution import ExperimentalIncrementalExecutionResults

from gateway.execution.masking import masked

Spec = Literal["20220824", "v0.2"]

#: The format a client gets when it does not name one (``multipart/mixed`` alone, websockets).
DEFAULT_SPEC: Spec = "20220824"


class Payloads:
    """The payloads of one incremental execution, in the format ``spec`` names.

    Args:
        results: graphql-core's initial result and subsequent results.
        request_id: named in masked errors.
        spec: ``"20220824"`` (path per entry) or ``"v0.2"`` (graphql-core's own).
    """

    def __init__(
        self,
        results: ExperimentalIncrementalExecutionResults,
        request_id: str,
        *,
        spec: Spec = DEFAULT_SPEC,
    ) -> None:
        self.results = results
        self.request_id = request_id
        self.spec = spec
        self._paths: dict[str, list[str | int]] = {}
        self._labels: dict[str, str | None] = {}
        self._streams: set[str] = set()
        #: Everything delivered so far, merged: where a stream's next index is read.
        self.data: dict[str, Any] | None = None
        self.errors: list[GraphQLError] = []

    def initial(self) -> dict[str, Any]:
        """The first payload: ``data``, ``errors``, ``hasNext`` (and ``pending`` in v0.2)."""
        initial = self.results.initial_result
        self.data = initial.data
        initial.errors = self._masked(initial.errors) or None
        for pending in initial.pending or ():
            self._pending(pending)
        if self.spec == "v0.2":
            return dict(initial.formatted)
        payload: dict[str, Any] = {}
        if initial.errors:
            payload["errors"] = [error.formatted for error in initial.errors]
        payload["data"] = initial.data
        payload["hasNext"] = initial.has_next
        return payload

    async def subsequent(self) -> AsyncIterator[dict[str, Any]]:
        """Every later payload, ``hasNext`` false on the last."""
        async for result in self.results.subsequent_results:
            for pending in result.pending or ():
                self._pending(pending)
            for item in result.incremental or ():
                item.errors = self._masked(item.errors) or None
            for completed in result.completed or ():
                completed.errors = self._masked(completed.errors) or None
            if self.spec == "v0.2":
                yield dict(result.formatted)
                continue
            entries = [self._entry(item) for item in result.incremental or ()]
            entries.extend(
                self._failure(completed.id, completed.errors)
                for completed in result.completed or ()
                if completed.errors
            )
            payload: dict[str, Any] = {"hasNext": result.has_next}
            if entries:
                payload["incremental"] = entries
            yield payload

    def _masked(self, errors: list[GraphQLError] | None) -> list[GraphQLError]:
        shown = masked(errors or [], self.request_id)
        self.errors.extend(shown)
        return shown

    def _pending(self, pending: Any) -> None:
        self._paths[pending.id] = list(pending.path)
        self._labels[pending.id] = pending.label

    def _entry(self, item: Any) -> dict[str, Any]:
        path = [*self._paths.get(item.id, []), *(item.sub_path or ())]
        entry: dict[str, Any] = {}
        items = getattr(item, "items", None)
        if items is not None:
            self._streams.add(item.id)
            listed = _at(self.data, path)
            start = len(listed) if isinstance(listed, list) else 0
            if isinstance(listed, list):
                listed.extend(items)
            entry["items"] = items
            entry["path"] = [*path, start]
        else:
            entry["data"] = item.data
            entry["path"] = path
            target = _at(self.data, path)
            if isinstance(target, dict) and isinstance(item.data, dict):
                _deep_merge(target, item.data)
        self._label(entry, item.id)
        if item.errors:
            entry["errors"] = [error.formatted for error in item.errors]
        return entry

    def _failure(self, pending_id: str, errors: list[GraphQLError]) -> dict[str, Any]:
        """A deferred fragment (``data: null``) or a stream (``items: null``) that failed."""
        path = list(self._paths.get(pending_id, []))
        entry: dict[str, Any]
        if pending_id in self._streams or _is_list(self.data, path):
            listed = _at(self.data, path)
            entry = {"items": None, "path": [*path, len(listed) if listed else 0]}
        else:
            entry = {"data": None, "path": path}
        self._label(entry, pending_id)
        entry["errors"] = [error.formatted for error in errors]
        return entry

    def _label(self, entry: dict[str, Any], pending_id: str) -> None:
        label = self._labels.get(pending_id)
        if label is not None:
            entry["label"] = label


def _at(data: Any, path: list[Any]) -> Any:
    node = data
    for key in path:
        if isinstance(node, dict) and isinstance(key, str):
            node = node.get(key)
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return None
    return node


def _is_list(data: Any, path: list[Any]) -> bool:
    return isinstance(_at(data, path), list)


def _deep_merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _deep_merge(target[key], value)
        else:
            target[key] = value


async def merged(payloads: Payloads) -> tuple[dict[str, Any] | None, list[GraphQLError]]:
    """Everything a stream would have delivered, as one result's data and errors.

    For an answer that must be one response after the operation was prepared
    to stream (an ``Idempotency-Key`` stores one response); a client that
    cannot read a stream is otherwise given a plain execution from the start.
    """
    payloads.spec = DEFAULT_SPEC
    payloads.initial()
    async for _ in payloads.subsequent():
        pass
    return payloads.data, payloads.errors


__all__ = ["DEFAULT_SPEC", "Payloads", "Spec", "merged"]
