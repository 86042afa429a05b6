"""The gateway's public face (``gateway.__all__``) is what it says, and all of it works."""

from __future__ import annotations

import importlib
import inspect

import pytest

import gateway


def test_all_lists_every_public_name() -> None:
    assert sorted(gateway.__all__) == gateway.__all__
    assert dir(gateway) == gateway.__all__


def test_every_exported_name_imports_and_is_documented() -> None:
    for name in gateway.__all__:
        value = getattr(gateway, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            home = importlib.import_module(value.__module__)
            assert getattr(home, name) is value, name
            assert inspect.getdoc(value), f"{name} has no docstring"


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="nothing_here"):
        gateway.nothing_here  # noqa: B018
