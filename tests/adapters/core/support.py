"""Helpers of the core adapter tests."""

from __future__ import annotations

from adapters.core import CoreAdapter
from simulators.seed import SeedData, SeedSummary


class Seeded:
    """A seeded core plus the rows the seeder wrote, to compute expectations from."""

    def __init__(self, core: CoreAdapter, summary: SeedSummary, data: SeedData) -> None:
        self.core = core
        self.summary = summary
        self.data = data
