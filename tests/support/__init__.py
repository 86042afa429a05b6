"""Helpers of the test suite: plain functions and classes, no fixtures.

The fixtures are in ``tests/conftest.py`` (shared) and a folder's own
``conftest.py``; nothing imports a conftest module.
"""
