"""The deployment tests reuse the ops fixtures: a seeded SQLite core and the simulators."""

from __future__ import annotations

from tests.ops.conftest import ops_core, ops_sims, sims

__all__ = ["ops_core", "ops_sims", "sims"]
