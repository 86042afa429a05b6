"""Column types that keep the core's money exact and its timestamps aware.

PostgreSQL stores both natively (``NUMERIC(12,2)``, ``TIMESTAMPTZ``). SQLite,
the embedded default, has neither: it keeps numbers as REAL/INTEGER and
timestamps as text. These decorators make both dialects hand the adapter the
same Python values, so nothing above this module needs to know which database
it talks to.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import DateTime, Numeric
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

CENT = Decimal("0.01")


def to_money(value: object) -> Decimal:
    """A value read from or bound to a money column, as ``Decimal`` quantized to cents.

    Rounds half away from zero, as PostgreSQL's NUMERIC(12,2) does on insert.
    Floats only arrive from SQLite, which keeps NUMERIC as REAL: ``repr`` gives
    the shortest decimal that round-trips, exact for the 12 significant digits
    of NUMERIC(12,2) (a float holds 15).

    Raises:
        TypeError: ``value`` is not a number (a ``bool`` is not money either).
    """
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int) and not isinstance(value, bool):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        number = Decimal(value)
    else:
        raise TypeError(f"money must be a Decimal or an int, not {type(value).__name__}")
    return number.quantize(CENT, rounding=ROUND_HALF_UP)


class Money(TypeDecorator[Decimal]):
    """``NUMERIC(12,2)`` that always reads back as ``Decimal`` quantized to cents.

    Binding accepts ``Decimal`` and ``int`` only: a ``float`` is refused so that
    a binary fraction can never slip into the ledger.

    Example:
        >>> Column("unit_price", Money(), nullable=False)
    """

    impl = Numeric(12, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.supports_native_decimal:
            return dialect.type_descriptor(Numeric(12, 2))
        # SQLite: take the raw REAL/INTEGER and convert it ourselves (see
        # to_money) instead of SQLAlchemy's float-to-Decimal path.
        return dialect.type_descriptor(Numeric(12, 2, asdecimal=False))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money must be a Decimal or an int, not float")
        amount = to_money(value)
        # SQLite's driver cannot take a Decimal; a decimal string is stored as
        # the same REAL the column affinity would produce.
        return amount if dialect.supports_native_decimal else str(amount)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else to_money(value)


class UTCDateTime(TypeDecorator[datetime]):
    """``TIMESTAMPTZ`` that only accepts and only returns timezone-aware UTC datetimes.

    On SQLite the value is stored as naive UTC text and given its ``UTC``
    zone back on the way out. A naive datetime is refused on bind: guessing
    its zone is how timestamps drift by hours.

    Example:
        >>> Column("created_at", UTCDateTime(), nullable=False, server_default=func.now())
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(DateTime())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, not {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime: pass a timezone-aware datetime (UTC)")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
