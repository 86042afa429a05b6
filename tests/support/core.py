"""Cores for tests on SQLite and PostgreSQL: empty, seeded for one test, or seeded and shared.

Isolation is by fresh database, not by test order. A PostgreSQL database is a
new schema on the test server: the URL carries libpq's
``options=-csearch_path=<schema>``, which ``CoreAdapter`` and
``adapters.core.create_core_engine`` turn into an asyncpg session setting, so
everything opened from the URL lands in the schema; the schema is dropped
(with everything in it) on exit. A SQLite database is a file; a seeded one
is a copy of a template seeded once per scale (seeding is the slow part)::

    async with fresh_pg_schema(base_url) as url:
        async with CoreAdapter(url) as core:
            ...
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Self

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from adapters.core import CoreAdapter
from simulators.seed import seed

POSTGRES_ENV = "GATEWAY_TEST_POSTGRES_URL"
SKIP_REASON = f"{POSTGRES_ENV} is not set: these tests need a real PostgreSQL"

#: The scale of the shared seeded core: 50 customers, 25 products, 1,000 orders.
READ_SCALE = 0.05

#: Every backend, as ``params=`` of a fixture; the PostgreSQL case is marked.
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def configured_postgres() -> str | None:
    """The base URL of the test PostgreSQL server, or ``None`` when not configured."""
    return os.environ.get(POSTGRES_ENV) or None


def pin_schema(base_url: str, schema: str) -> str:
    """``base_url`` with its search_path set to ``schema`` (password kept)."""
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@asynccontextmanager
async def fresh_pg_schema(base_url: str, *, prefix: str = "test") -> AsyncIterator[str]:
    """Create a new schema, yield a URL pinned to it, drop it afterwards.

    Args:
        base_url: a ``postgresql+asyncpg://`` URL of the test server.
        prefix: the schema name's prefix, to tell the owners of leftovers apart.
    """
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    # NullPool: the admin connection must not outlive the event loop it was made on.
    admin = create_async_engine(base_url, poolclass=NullPool)
    try:
        async with admin.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            yield pin_schema(base_url, schema)
        finally:
            async with admin.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        await admin.dispose()


async def seed_core(url: str, scale: float) -> None:
    """Create the core's tables at ``url`` and fill them with the seeder's data."""
    async with CoreAdapter(url) as core:
        await core.create_schema()
        await seed(core, scale=scale)


def sqlite_url(folder: Path) -> str:
    """The URL of the SQLite core file in ``folder``."""
    return f"sqlite+aiosqlite:///{folder / 'core.db'}"


def private_copy(sqlite_core: str, folder: Path) -> str:
    """A copy of a seeded SQLite core in ``folder``, for a test that writes; its URL.

    The shared cores are read-only: the read tests count their rows.
    """
    shutil.copyfile(sqlite_core.removeprefix("sqlite+aiosqlite:///"), folder / "core.db")
    return sqlite_url(folder)


class SeededCores:
    """The ``cores`` fixture: databases for tests, on either backend.

    ``shared`` cores are seeded once per backend and scale and shared by the
    session: tests must not write to them. ``fresh`` ones belong to one test,
    which may write. ``empty`` ones have no tables. PostgreSQL ones skip the
    test when ``GATEWAY_TEST_POSTGRES_URL`` is not set.

    Example:
        >>> url = await cores.shared("postgres")
        >>> async with cores.fresh("sqlite", tmp_path, scale=0.02) as url:
        ...     ...
    """

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._templates: dict[float, Path] = {}
        self._shared: dict[tuple[str, float], str] = {}
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._stack.aclose()

    async def shared(self, backend: str, scale: float = READ_SCALE) -> str:
        """A core seeded at ``scale`` once for the session (read-only: do not write to it)."""
        key = (backend, scale)
        if key not in self._shared:
            if backend == "sqlite":
                url = await self.sqlite(self._new_folder("shared"), scale)
            else:
                url = await self._stack.enter_async_context(self.postgres(scale, prefix="shared"))
            self._shared[key] = url
        return self._shared[key]

    @asynccontextmanager
    async def fresh(
        self, backend: str, folder: Path, scale: float = READ_SCALE
    ) -> AsyncIterator[str]:
        """A core seeded at ``scale`` for one test alone (a SQLite file in ``folder``)."""
        if backend == "sqlite":
            yield await self.sqlite(folder, scale)
            return
        async with self.postgres(scale, prefix="fresh") as url:
            yield url

    @asynccontextmanager
    async def empty(self, backend: str, folder: Path) -> AsyncIterator[str]:
        """An empty database, no tables (a SQLite file in ``folder``)."""
        if backend == "sqlite":
            yield sqlite_url(folder)
            return
        async with fresh_pg_schema(postgres_or_skip(), prefix="core") as url:
            yield url

    async def sqlite(self, folder: Path, scale: float = READ_SCALE) -> str:
        """A seeded SQLite core file in ``folder``, this caller's own; returns its URL."""
        template = await self._template(scale)
        shutil.copyfile(template, folder / "core.db")
        return sqlite_url(folder)

    @asynccontextmanager
    async def postgres(self, scale: float = READ_SCALE, *, prefix: str) -> AsyncIterator[str]:
        """A core seeded at ``scale`` in a fresh PostgreSQL schema, dropped on exit."""
        async with fresh_pg_schema(postgres_or_skip(), prefix=prefix) as url:
            await seed_core(url, scale)
            yield url

    async def _template(self, scale: float) -> Path:
        if scale not in self._templates:
            folder = self._new_folder("template")
            async with CoreAdapter(sqlite_url(folder)) as core:
                await core.create_schema()
                await seed(core, scale=scale)
                async with core.engine.connect() as conn:
                    # Fold the WAL into the file, so a copy of the file alone is complete.
                    await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            self._templates[scale] = folder / "core.db"
        return self._templates[scale]

    def _new_folder(self, name: str) -> Path:
        folder = self._folder / f"{name}-{uuid.uuid4().hex[:8]}"
        folder.mkdir()
        return folder


def postgres_or_skip() -> str:
    """The test server's base URL; skips the calling test when none is configured."""
    base = configured_postgres()
    if base is None:
        pytest.skip(SKIP_REASON)
    return base
