"""Reading ``multipart/mixed`` incremental answers as a client does, part by part as they arrive."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

DEFER_SPEC = "multipart/mixed;deferSpec=20220824, application/json"


@dataclass
class Part:
    """One payload and how long after the request it arrived."""

    payload: dict[str, Any]
    seconds: float


def stream_parts(
    http: httpx.Client, query: str, *, accept: str = DEFER_SPEC, **body: Any
) -> tuple[httpx.Response, list[Part]]:
    """POST ``query`` and read every part of the multipart answer, timing each."""
    parts: list[Part] = []
    started = time.perf_counter()
    with http.stream(
        "POST", "/graphql", json={"query": query, **body}, headers={"Accept": accept}
    ) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("multipart/mixed"), response.headers
        buffer = b""
        for chunk in response.iter_bytes():
            buffer += chunk
            # A part is complete when the next delimiter (or the closing one) follows it.
            while True:
                start = buffer.find(b"\r\n---\r\n")
                if start < 0:
                    break
                end = buffer.find(b"\r\n---", start + 7)
                if end < 0:
                    break
                head, _, json_body = buffer[start + 7 : end].partition(b"\r\n\r\n")
                assert b"application/json" in head
                parts.append(Part(orjson.loads(json_body), time.perf_counter() - started))
                buffer = buffer[end:]
        assert buffer.rstrip().endswith(b"-----"), buffer
    return response, parts


def apply_20220824(parts: list[Part]) -> tuple[Any, list[dict[str, Any]]]:
    """Merge the payloads as Apollo Client's Defer20220824Handler does; the data and errors."""
    first = parts[0].payload
    data = copy.deepcopy(first.get("data"))
    errors = list(first.get("errors", []))
    for part in parts[1:]:
        for entry in part.payload.get("incremental", []):
            errors.extend(entry.get("errors", []))
            path = entry["path"]
            if "items" in entry:
                if entry["items"] is None:
                    continue
                target = _at(data, path[:-1])
                for offset, item in enumerate(entry["items"]):
                    index = path[-1] + offset
                    assert index == len(target), (index, len(target))
                    target.append(item)
            elif entry.get("data") is not None:
                _merge(_at(data, path), entry["data"])
    assert parts[-1].payload["hasNext"] is False
    assert all(part.payload["hasNext"] for part in parts[:-1])
    return data, errors


def _at(data: Any, path: list[Any]) -> Any:
    for key in path:
        data = data[key]
    return data


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value
