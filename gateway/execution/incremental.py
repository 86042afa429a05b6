"""``@defer`` and ``@stream`` payloads, as the clients that read them expect.

graphql-core produces the current draft's format: an initial result with
``pending`` ids, then payloads whose ``incremental`` entries point at a
pending id, and ``completed`` ids. Apollo Client, urql and Relay read the
format of Apollo's ``deferSpec=20220824``: each incremental entry carries
its own ``path`` (and ``label``), stream entries the index of their first
item. ``Payloads`` turns one into the other, masking unexpected errors on
the way; ``merged`` folds every payload into one result for a client that
cannot read a stream (plain JSON, a batch).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from graphql import ExecutionResult, GraphQLError
from graphql.execution import ExperimentalIncrementalExecutionResults

from gateway.execution.masking import masked


class Payloads:
    """The payloads of one incremental execution, in the 20220824 format.

    Args:
        results: graphql-core's initial result and subsequent results.
        request_id: named in masked errors.
    """

    def __init__(self, results: ExperimentalIncrementalExecutionResults, request_id: str) -> None:
        self.results = results
        self.request_id = request_id
        self._paths: dict[str, list[str | int]] = {}
        self._labels: dict[str, str | None] = {}
        self._stream_index: dict[str, int] = {}
        self.initial_data: dict[str, Any] | None = None
        self.errors: list[GraphQLError] = []

    def initial(self) -> dict[str, Any]:
        """The first payload: ``data``, ``errors``, ``hasNext``."""
        initial = self.results.initial_result
        self.initial_data = initial.data
        errors = masked(initial.errors or [], self.request_id)
        self.errors.extend(errors)
        for pending in initial.pending or ():
            self._pending(pending)
        payload: dict[str, Any] = {}
        if errors:
            payload["errors"] = [error.formatted for error in errors]
        payload["data"] = initial.data
        payload["hasNext"] = initial.has_next
        return payload

    async def subsequent(self) -> AsyncIterator[dict[str, Any]]:
        """Every later payload: ``incremental`` entries with their ``path``, ``hasNext``."""
        async for result in self.results.subsequent_results:
            for pending in result.pending or ():
                self._pending(pending)
            entries = [self._entry(item) for item in result.incremental or ()]
            for completed in result.completed or ():
                if completed.errors:
                    errors = masked(completed.errors, self.request_id)
                    self.errors.extend(errors)
                    entries.append(
                        {
                            "data": None,
                            "path": self._paths.get(completed.id, []),
                            "errors": [error.formatted for error in errors],
                        }
                    )
            payload: dict[str, Any] = {"hasNext": result.has_next}
            if entries:
                payload["incremental"] = entries
            yield payload

    def _pending(self, pending: Any) -> None:
        self._paths[pending.id] = list(pending.path)
        self._labels[pending.id] = pending.label

    def _entry(self, item: Any) -> dict[str, Any]:
        path = list(self._paths.get(item.id, []))
        entry: dict[str, Any] = {}
        items = getattr(item, "items", None)
        if items is not None:
            start = self._stream_index.get(item.id)
            if start is None:
                start = _length_at(self.initial_data, path)
            self._stream_index[item.id] = start + len(items)
            entry["items"] = items
            entry["path"] = [*path, start]
        else:
            entry["data"] = item.data
            entry["path"] = [*path, *(getattr(item, "sub_path", None) or ())]
        label = self._labels.get(item.id)
        if label is not None:
            entry["label"] = label
        if item.errors:
            errors = masked(item.errors, self.request_id)
            self.errors.extend(errors)
            entry["errors"] = [error.formatted for error in errors]
        return entry


def _length_at(data: Any, path: list[str | int]) -> int:
    """How many items the list at ``path`` of the initial data already holds."""
    node = data
    for key in path:
        if isinstance(node, dict) and isinstance(key, str):
            node = node.get(key)
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return 0
    return len(node) if isinstance(node, list) else 0


async def merged(payloads: Payloads) -> ExecutionResult:
    """One result holding everything a stream would have delivered."""
    first = payloads.initial()
    data = first.get("data")
    async for payload in payloads.subsequent():
        for entry in payload.get("incremental", ()):
            _apply(data, entry)
    return ExecutionResult(data=data, errors=payloads.errors or None)


def _apply(data: Any, entry: dict[str, Any]) -> None:
    path = entry["path"]
    if "items" in entry:
        target = _at(data, path[:-1])
        if isinstance(target, list):
            target.extend(entry["items"])
        return
    target = _at(data, path)
    if isinstance(target, dict) and isinstance(entry.get("data"), dict):
        _deep_merge(target, entry["data"])


def _at(data: Any, path: list[Any]) -> Any:
    node = data
    for key in path:
        if isinstance(node, dict):
            node = node.get(key)
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return None
    return node


def _deep_merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _deep_merge(target[key], value)
        else:
            target[key] = value


__all__ = ["Payloads", "merged"]
