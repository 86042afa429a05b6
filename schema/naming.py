"""Python names to GraphQL names, as strawberry's converter does, remembered once computed.

strawberry converts names again at every call: ``convert_arguments`` maps each
argument and each field of an input object (an ``OrderFilter``) through
``to_camel_case``, a generator over the name's parts. On the uncached
fan-out that was 5 % of the event loop's samples (bench/NOTES.md), for the
same few dozen names every time.
"""

from __future__ import annotations

from strawberry.schema.name_converter import NameConverter


class RememberingNameConverter(NameConverter):
    """strawberry's ``NameConverter`` with each converted name kept (names are few and fixed)."""

    def __init__(self, auto_camel_case: bool = True) -> None:
        super().__init__(auto_camel_case)
        self._converted: dict[str, str] = {}

    def apply_naming_config(self, name: str) -> str:
        converted = self._converted.get(name)
        if converted is None:
            converted = self._converted[name] = super().apply_naming_config(name)
        return converted


__all__ = ["RememberingNameConverter"]
