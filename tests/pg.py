"""Per-test PostgreSQL schemas: isolation by fresh schema, not by test order.

Any test package can pin a database URL to a new, empty schema (or take one
already seeded with ``seeded_postgres``; ``seeded_sqlite`` is the SQLite twin)::

    async with fresh_pg_schema(postgres_url()) as url:
        async with CoreAdapter(url) as core:
            ...

The URL carries libpq's ``options=-csearch_path=<schema>``; ``CoreAdapter``
and ``adapters.core.create_core_engine`` turn that into an asyncpg session
setting, so everything opened from the URL lands in the schema. The schema
is dropped (with everything in it) on exit.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

POSTGRES_ENV = "GATEWAY_TEST_POSTGRES_URL"
SKIP_REASON = f"{POSTGRES_ENV} is not set: these tests need a real PostgreSQL"


def postgres_url() -> str | None:
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
    from adapters.core import CoreAdapter
    from simulators.seed import seed

    async with CoreAdapter(url) as core:
        await core.create_schema()
        await seed(core, scale=scale)


async def seeded_sqlite(folder: Path, scale: float) -> str:
    """A SQLite core file in ``folder``, seeded at ``scale``; returns its URL."""
    url = f"sqlite+aiosqlite:///{folder / 'core.db'}"
    await seed_core(url, scale)
    return url


@asynccontextmanager
async def seeded_postgres(scale: float, *, prefix: str) -> AsyncIterator[str]:
    """A core seeded at ``scale`` in a fresh PostgreSQL schema; skips without a server."""
    import pytest

    base = postgres_url()
    if base is None:
        pytest.skip(SKIP_REASON)
    async with fresh_pg_schema(base, prefix=prefix) as url:
        await seed_core(url, scale)
        yield url
