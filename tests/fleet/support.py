"""What the fleet tests share beyond their fixtures."""

from __future__ import annotations

#: What the tests measured, printed after the run (``conftest.pytest_terminal_summary``).
FIGURES: dict[str, str] = {}
