"""What the database said when the core could not be reached, for the operator.

``BackendUnavailable("core", ...)`` names only the failure's class: its
message reaches clients, and SQLAlchemy's text carries SQL, parameters and
sometimes the URL. An operator running ``gateway check`` needs more: *which*
login was refused, *which* database does not exist. ``database_said`` digs
that out of the exception chain for the failures that carry neither SQL nor
data: PostgreSQL's refusals to connect (SQLSTATE classes 08 connection, 28
authorization, 3D catalog, 53 resources, 57 operator intervention), the
files SQLite cannot open, and the network's own errors. The URL's password
never appears in these messages; it is removed anyway if it does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

#: PostgreSQL SQLSTATE classes of "could not connect / not allowed in" failures.
_CONNECT_CLASSES = ("08", "28", "3D", "53", "57")
#: SQLite messages about the file itself, never about a statement.
_SQLITE_FILE_MESSAGES = (
    "unable to open database file",
    "database is locked",
    "disk I/O error",
    "file is not a database",
    "attempt to write a readonly database",
)


def database_said(error: BaseException, *, password: str | None = None) -> str | None:
    """The database's (or network's) own words about a failure to connect, or ``None``.

    Example:
        >>> import sqlite3
        >>> database_said(sqlite3.OperationalError("unable to open database file"))
        'unable to open database file'
        >>> database_said(sqlite3.OperationalError('near "SELEC": syntax error')) is None
        True
    """
    for exc in _chain(error):
        said = _said(exc)
        if said is not None:
            if password:
                said = said.replace(password, "***")
            return said
    return None


def _said(exc: BaseException) -> str | None:
    sqlstate = getattr(exc, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate[:2] in _CONNECT_CLASSES and str(exc):
        return str(exc)
    if isinstance(exc, sqlite3.Error) and str(exc).startswith(_SQLITE_FILE_MESSAGES):
        return str(exc)
    if isinstance(exc, OSError) and not isinstance(exc, sqlite3.Error) and str(exc):
        return str(exc)
    return None


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error``, its causes and contexts, and the driver errors SQLAlchemy wraps."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        exc = pending.pop(0)
        if id(exc) in seen:
            continue
        seen.add(id(exc))
        yield exc
        for linked in (getattr(exc, "orig", None), exc.__cause__, exc.__context__):
            if isinstance(linked, BaseException):
                pending.append(linked)


__all__ = ["database_said"]
