"""The schema's name converter gives strawberry's names and converts each name once."""

from __future__ import annotations

import pytest
from strawberry.schema.name_converter import NameConverter

import schema.naming
from schema import build_schema
from schema.naming import RememberingNameConverter


@pytest.mark.parametrize("name", ["first", "order_number", "health_score", "a_b_c", "_private"])
def test_names_are_strawberrys(name: str) -> None:
    assert RememberingNameConverter().apply_naming_config(name) == (
        NameConverter().apply_naming_config(name)
    )


def test_a_name_is_converted_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    converter = RememberingNameConverter()
    original = NameConverter.apply_naming_config

    def counted(self: NameConverter, name: str) -> str:
        calls.append(name)
        return original(self, name)

    monkeypatch.setattr(NameConverter, "apply_naming_config", counted)
    assert [converter.apply_naming_config("order_number") for _ in range(3)] == ["orderNumber"] * 3
    assert calls == ["order_number"]


def test_the_schema_uses_it() -> None:
    assert isinstance(build_schema().config.name_converter, schema.naming.RememberingNameConverter)
