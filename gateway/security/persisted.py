"""Trusted documents: Automatic Persisted Queries and a per-client allowlist.

APQ (Apollo's protocol): a request may carry
``extensions.persistedQuery = {"version": 1, "sha256Hash": "<hex>"}``.

- hash only: the stored document runs; unknown hash -> ``PERSISTED_QUERY_NOT_FOUND``
  (the client then resends with the query);
- hash and query: the hash must be the query's sha256; the document is
  stored and runs.

Documents live in memory (bounded, least recently used dropped) or in Redis
when ``redis_url`` is set, so every instance knows them.

Allowlist: the ``.graphql`` files of ``persisted_documents_dir`` are the
registered operations, each known by the sha256 of its text. A client with
``allowlist_only = true`` may run only those (by hash, or by sending the
exact text); anything else is refused with ``OPERATION_NOT_ALLOWED``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from gateway.errors import ErrorCode, RequestRejected
from gateway.pipeline import Exchange, Handler, Reply
from gateway.security.settings import SecuritySettings

log = logging.getLogger("gateway.security.persisted")

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
#: Documents an APQ entry may hold; larger ones are run but not stored.
_MAX_STORED_CHARS = 100_000


def document_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class DocumentStore(Protocol):
    """Where APQ documents are kept, by sha256."""

    async def get(self, digest: str) -> str | None: ...

    async def put(self, digest: str, text: str) -> None: ...

    async def aclose(self) -> None: ...


class MemoryDocumentStore:
    """APQ documents in this process, the least recently used dropped past ``max_entries``."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._documents: OrderedDict[str, str] = OrderedDict()

    async def get(self, digest: str) -> str | None:
        text = self._documents.get(digest)
        if text is not None:
            self._documents.move_to_end(digest)
        return text

    async def put(self, digest: str, text: str) -> None:
        self._documents[digest] = text
        self._documents.move_to_end(digest)
        while len(self._documents) > self.max_entries:
            self._documents.popitem(last=False)

    async def aclose(self) -> None:
        self._documents.clear()


class RedisDocumentStore:
    """APQ documents in Redis, shared by every instance (kept a week after last write)."""

    TTL_SECONDS = 7 * 24 * 3600

    def __init__(self, url: str, *, prefix: str) -> None:
        self.prefix = prefix
        # Imported here: redis is ~9 MB in every worker, and only a deployment with
        # GATEWAY_REDIS_URL set uses it.
        import redis.asyncio as aioredis
        from redis.exceptions import RedisError

        self._redis_error: type[Exception] = RedisError
        self._redis: Any = aioredis.Redis.from_url(url, decode_responses=True)

    async def get(self, digest: str) -> str | None:
        try:
            value = await self._redis.get(self.prefix + digest)
        except self._redis_error:
            log.warning("persisted queries: Redis unavailable; treating as a miss")
            return None
        return value if isinstance(value, str) else None

    async def put(self, digest: str, text: str) -> None:
        try:
            await self._redis.set(self.prefix + digest, text, ex=self.TTL_SECONDS)
        except self._redis_error:
            log.warning("persisted queries: Redis unavailable; document not stored")

    async def aclose(self) -> None:
        await self._redis.aclose()


def load_registered(folder: Path | None) -> dict[str, str]:
    """The registered operations of a folder: ``{sha256: text}`` of every ``*.graphql``."""
    if folder is None:
        return {}
    if not folder.is_dir():
        raise FileNotFoundError(f"persisted_documents_dir: {folder} is not a folder")
    documents = {}
    for path in sorted(folder.rglob("*.graphql")):
        text = path.read_text()
        documents[document_hash(text)] = text
    return documents


class PersistedQueries:
    """Resolves a request's document from APQ / the registered operations, and applies allowlists.

    Example:
        >>> import asyncio
        >>> pq = PersistedQueries(MemoryDocumentStore(10), registered={}, apq_enabled=True)
        >>> asyncio.run(pq.resolve({"query": "{ a }"}, allowlist_only=False))["query"]
        '{ a }'
    """

    def __init__(
        self, store: DocumentStore, *, registered: Mapping[str, str], apq_enabled: bool
    ) -> None:
        self.store = store
        self.registered = dict(registered)
        self.apq_enabled = apq_enabled

    @classmethod
    def from_settings(cls, settings: SecuritySettings) -> PersistedQueries:
        store: DocumentStore = (
            RedisDocumentStore(settings.redis_url, prefix=settings.apq_key_prefix)
            if settings.redis_url
            else MemoryDocumentStore(settings.apq_max_entries)
        )
        return cls(
            store,
            registered=load_registered(settings.persisted_documents_dir),
            apq_enabled=settings.apq_enabled,
        )

    async def resolve(self, params: dict[str, Any], *, allowlist_only: bool) -> dict[str, Any]:
        """``params`` with ``query`` filled in from the persisted document, when one is named.

        Raises:
            RequestRejected: unknown hash, hash mismatch, or a document the
                client's allowlist does not hold.
        """
        digest = _requested_hash(params)
        query = params.get("query")
        if digest is not None:
            if isinstance(query, str) and query:
                if document_hash(query) != digest:
                    raise RequestRejected(
                        status=400,
                        code=ErrorCode.BAD_REQUEST,
                        message="provided sha256Hash does not match the query",
                    )
                if self.apq_enabled and not allowlist_only and len(query) <= _MAX_STORED_CHARS:
                    await self.store.put(digest, query)
            else:
                query = await self._lookup(digest)
                params = {**params, "query": query}
        registered = isinstance(query, str) and document_hash(query) in self.registered
        if allowlist_only and not registered:
            raise RequestRejected(
                "this client may run only registered operations; "
                "send the sha256Hash of a registered document",
                status=403,
                code=ErrorCode.OPERATION_NOT_ALLOWED,
            )
        return params

    async def _lookup(self, digest: str) -> str:
        registered = self.registered.get(digest)
        if registered is not None:
            return registered
        if not self.apq_enabled:
            raise RequestRejected(
                status=200,
                code=ErrorCode.PERSISTED_QUERY_NOT_SUPPORTED,
                message="PersistedQueryNotSupported",
            )
        stored = await self.store.get(digest)
        if stored is None:
            # Apollo clients expect this exact message and a 200 before they resend.
            raise RequestRejected(
                status=200,
                code=ErrorCode.PERSISTED_QUERY_NOT_FOUND,
                message="PersistedQueryNotFound",
            )
        return stored

    async def aclose(self) -> None:
        await self.store.aclose()


def _requested_hash(params: dict[str, Any]) -> str | None:
    extensions = params.get("extensions")
    if not isinstance(extensions, dict) or "persistedQuery" not in extensions:
        return None
    persisted = extensions["persistedQuery"]
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise RequestRejected(
            status=400,
            code=ErrorCode.BAD_REQUEST,
            message="extensions.persistedQuery: version 1 is the only one supported",
        )
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not _HEX64.match(digest):
        raise RequestRejected(
            status=400,
            code=ErrorCode.BAD_REQUEST,
            message="extensions.persistedQuery.sha256Hash: 64 lowercase hex digits",
        )
    return digest


class PersistedDocuments:
    """Step: a named persisted document fills in ``query``; allowlist-only clients keep to them."""

    def __init__(self, persisted: PersistedQueries) -> None:
        self.persisted = persisted

    async def __call__(self, exchange: Exchange, call_next: Handler) -> Reply:
        params = exchange.require_params()
        identity = exchange.identity
        allowlist_only = identity is not None and identity.allowlist_only
        resolved = await self.persisted.resolve(
            {"query": params.query, "extensions": params.extensions},
            allowlist_only=allowlist_only,
        )
        if resolved.get("query") != params.query:
            exchange.params = replace(params, query=resolved["query"])
        return await call_next(exchange)
