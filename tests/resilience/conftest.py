"""Fixtures of the resilience tests: the bolt-on simulators over loopback HTTP.

The simulators are shared by the session and reset before and after every
test, so each test starts with no latency, no failures and zeroed counters.
"""

from __future__ import annotations

from tests.resilience.support import _fresh_simulators, sims

__all__ = ["_fresh_simulators", "sims"]
