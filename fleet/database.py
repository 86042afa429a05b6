"""A PostgreSQL schema of the fleet's own, so a run never touches anything else.

The URL handed to the instances carries libpq's
``options=-csearch_path=<schema>``, which the core adapter turns into the
session's search path: the seed, the core tables and the gateway's own
``gateway_*`` tables all land in that schema.
"""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from gateway.settings import Settings

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def async_url(url: str) -> str:
    """``url`` with the asyncpg driver, as the gateway's settings would read it."""
    return Settings(core_database_url=url).core_database_url


def pinned(url: str, schema: str) -> str:
    """``url`` with its search path set to ``schema`` (password kept)."""
    pinned_url = make_url(async_url(url)).update_query_dict({"options": f"-csearch_path={schema}"})
    return pinned_url.render_as_string(hide_password=False)


async def _execute(url: str, *statements: str) -> None:
    engine = create_async_engine(async_url(url), poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


def recreate_schema(url: str, schema: str) -> str:
    """Drop ``schema`` if it exists, create it empty; the URL pinned to it."""
    _check(schema)
    asyncio.run(
        _execute(url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE', f'CREATE SCHEMA "{schema}"')
    )
    return pinned(url, schema)


def drop_schema(url: str, schema: str) -> None:
    _check(schema)
    asyncio.run(_execute(url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def _check(schema: str) -> None:
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(
            f"schema name {schema!r}: use lowercase letters, digits and underscores (at most 63)"
        )
