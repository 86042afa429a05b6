"""The HTTP adapter of a declared bolt-on: its contract's calls, batched as declared.

``DeclaredAdapter`` is an ``HttpBackend`` like the hand-written adapters, so
a declared bolt-on gets the same pooled keep-alive client, budget, retries
(for reads only), circuit breaker, bulkhead, metrics and trace spans, all
labelled with the declaration's ``name``. What it adds is the declaration's
shape of a call:

- ``batch_param``: the keys go in an array query parameter (repeated) or an
  array property of the JSON body, split at the contract's ``maxItems``; the
  chunks run concurrently.
- ``param``: one call per key (a path or query parameter), at most
  ``concurrency`` of one field's calls at once.

Results are matched back to their keys by the ``match`` property and
returned as the contract's JSON (converted to GraphQL values by
``gateway.bolt_ons.graph``); a key the bolt-on omits or answers 404 for is
``None`` (``[]`` for a ``many`` field).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from adapters.errors import BackendError, BackendNotFound, BackendUnavailable
from adapters.http import HttpBackend, chunks
from gateway.bolt_ons.declaration import Declaration, FieldDeclaration

#: The key a health probe asks for: no partner knows it, every partner must accept it.
PROBE_KEY = "__probe__"


class DeclaredAdapter(HttpBackend):
    """Calls one declared bolt-on as its declaration describes.

    Example:
        >>> async with DeclaredAdapter(declaration) as forecast:
        ...     [item] = await forecast.fetch(declaration.fields[0], ["SKU-00001"], {})
    """

    def __init__(self, declaration: Declaration, **options: Any) -> None:
        headers = declaration.contract.auth.headers(declaration.secret)
        options.setdefault("timeout", declaration.timeout)
        super().__init__(declaration.name, declaration.base_url, headers=headers, **options)
        self.declaration = declaration
        self._queues = {
            field.coordinate: asyncio.Semaphore(field.concurrency)
            for field in declaration.fields
            if field.param is not None
        }

    async def fetch(
        self, field: FieldDeclaration, keys: Sequence[str], args: Mapping[str, Any]
    ) -> list[Any]:
        """One result per key, in key order: the matched JSON item (a list when ``many``),
        ``None``/``[]`` for a key the bolt-on does not know, or that key's ``BackendError``
        when it was fetched alone and failed alone."""
        distinct = list(dict.fromkeys(keys))
        if field.batch_param is not None:
            size = field.batch_limit or len(distinct) or 1
            found: dict[str, Any] = {}
            for page in await asyncio.gather(
                *(self._batch(field, chunk, args) for chunk in chunks(distinct, size))
            ):
                found.update(page)
        else:
            answers = await asyncio.gather(
                *(self._one(field, key, args) for key in distinct), return_exceptions=True
            )
            found = {}
            for key, answer in zip(distinct, answers, strict=True):
                if isinstance(answer, BaseException) and not isinstance(answer, BackendError):
                    raise answer
                found[key] = answer
        empty: Any = [] if field.many else None
        return [found.get(key, empty) for key in keys]

    async def probe(self) -> None:
        """One authenticated call for an unknown key, outside the breaker and the bulkhead.

        Raises when the bolt-on is down or refuses the credential; a 404 for the
        probe key is an answer (``/readyz``, ``gateway check``).
        """
        field = self.declaration.fields[0]
        with contextlib.suppress(BackendNotFound):
            await self._call(field, [PROBE_KEY], _defaults(field), resilient=False)

    async def _batch(
        self, field: FieldDeclaration, keys: list[str], args: Mapping[str, Any]
    ) -> dict[str, Any]:
        body = await self._call(field, keys, args)
        return self._matched(field, body)

    async def _one(self, field: FieldDeclaration, key: str, args: Mapping[str, Any]) -> Any:
        async with self._queues[field.coordinate]:
            try:
                body = await self._call(field, [key], args)
            except BackendNotFound:
                return [] if field.many else None
        if field.items is not None:
            body = body.get(field.items) if isinstance(body, dict) else None
        if field.many:
            if not isinstance(body, list):
                raise BackendUnavailable(self.service, f"malformed {field.operation.operation_id}")
            return [item for item in body if isinstance(item, dict)]
        if isinstance(body, list):  # a list answer for one key: its matching item
            return self._matched(field, body).get(key)
        if body is not None and not isinstance(body, dict):
            raise BackendUnavailable(self.service, f"malformed {field.operation.operation_id}")
        return body

    async def _call(
        self,
        field: FieldDeclaration,
        keys: list[str],
        args: Mapping[str, Any],
        *,
        resilient: bool = True,
    ) -> Any:
        operation = field.operation
        path = operation.path
        params: dict[str, str | int | list[str]] = {}
        headers: dict[str, str] = {}
        body: dict[str, Any] | None = {} if operation.body is not None else None
        if field.batch_param is not None:
            if field.batch_param in operation.parameters:
                params[field.batch_param] = keys
            elif body is not None:
                body[field.batch_param] = keys
        elif field.param is not None:
            if operation.parameters[field.param].location == "path":
                path = path.replace("{" + field.param + "}", quote(keys[0], safe=""))
            else:
                params[field.param] = keys[0]
        for name, value in args.items():
            if value is None:
                continue
            given = operation.parameters.get(name)
            if given is None:
                if body is not None:
                    body[name] = value
            elif given.location == "query":
                params[name] = _query_value(value)
            elif given.location == "header":
                headers[name] = str(_query_value(value))
            else:
                path = path.replace("{" + name + "}", quote(str(value), safe=""))
        return await self.request(
            operation.method,
            path,
            operation=operation.operation_id,
            params=params or None,
            json=body,
            headers=headers or None,
            # A POST declared (or marked) a read may be retried like a GET.
            idempotent=True if field.reads else None,
            resilient=resilient,
        )

    def _matched(self, field: FieldDeclaration, body: Any) -> dict[str, Any]:
        """The result items of a response by their ``match`` value (lists when ``many``)."""
        listed = (
            body.get(field.items) if field.items is not None and isinstance(body, dict) else body
        )
        if not isinstance(listed, list):
            raise BackendUnavailable(
                self.service, f"malformed {field.operation.operation_id}: no list of results"
            )
        found: dict[str, Any] = {}
        for item in listed:
            if not isinstance(item, dict) or field.match not in item:
                raise BackendUnavailable(
                    self.service,
                    f"malformed {field.operation.operation_id}: a result without {field.match!r}",
                )
            key = str(item[field.match])
            if field.many:
                found.setdefault(key, []).append(item)
            else:
                found[key] = item
        return found


def _query_value(value: Any) -> str | int | list[str]:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return value
    if isinstance(value, list | tuple):
        return [str(_query_value(v)) for v in value]
    return str(value)


def _defaults(field: FieldDeclaration) -> dict[str, Any]:
    """The declared arguments' contract defaults (a probe sends what a plain query would)."""
    found: dict[str, Any] = {}
    for name in field.args:
        parameter = field.operation.parameters.get(name)
        schema = (
            parameter.schema if parameter is not None else field.operation.body_properties()[name]
        )
        if "default" in schema:
            found[name] = schema["default"]
    return found


__all__ = ["PROBE_KEY", "DeclaredAdapter"]
