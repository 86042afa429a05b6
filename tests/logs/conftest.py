"""The fixtures these tests share with the HTTP protocol tests."""

from tests.http.conftest import _fresh_simulators, serve, sims, sqlite_core

__all__ = ["_fresh_simulators", "serve", "sims", "sqlite_core"]
