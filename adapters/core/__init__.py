"""The core ERP database adapter (SQLAlchemy 2, async) and its table mapping."""

from adapters.core.adapter import CoreAdapter, create_core_engine
from adapters.core.tables import core_metadata

__all__ = ["CoreAdapter", "core_metadata", "create_core_engine"]
