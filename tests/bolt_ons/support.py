"""Shared helpers of the declared bolt-on tests: the example declarations, contract validation.

``response_errors`` checks a JSON answer against an operation's OpenAPI 3.0
response schema with ``jsonschema`` (draft 2020-12), independently of the
gateway's own code: every component schema becomes a ``$defs`` entry,
``$ref``s are pointed there, ``nullable`` admits ``null``, 3.0's boolean
exclusive bounds become numbers, and formats are checked strictly
(``decimal`` an exact decimal string, ``date-time`` a UTC ``Z`` time,
``date``, ``email``, ``uuid``, ``int32``/``int64`` ranges). With ``strict``
objects admit no property the contract does not list
(``unevaluatedProperties: false``), so a simulator cannot invent any; an
``allOf`` member refers to an open copy of its component, so only the
composed object is closed.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from gateway.bolt_ons.contract import Contract, Schema
from gateway.bolt_ons.declaration import Declaration, load_declarations

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "bolt-ons"

#: The secrets the tests' declared simulators check.
FORECAST_TOKEN = "test-forecast-token"
WARRANTY_KEY = "test-warranty-key"

_REF = "#/components/schemas/"
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
_DATE_TIME_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")


def example_declarations() -> dict[str, Declaration]:
    """The declarations shipped in ``examples/bolt-ons``, by name."""
    return {d.name: d for d in load_declarations(EXAMPLES, environ={})}


def copy_examples(folder: Path, *names: str) -> Path:
    """``folder`` holding the named example declarations and their contracts (all by default)."""
    folder.mkdir(parents=True, exist_ok=True)
    for source in EXAMPLES.iterdir():
        if not names or source.name.split(".", 1)[0] in names:
            shutil.copy(source, folder / source.name)
    return folder


def json_schema(contract: Contract, schema: Schema, *, strict: bool = True) -> dict[str, Any]:
    """``schema`` as JSON Schema 2020-12, the contract's components as ``$defs``."""
    converted = dict(_convert(schema, strict))
    definitions: dict[str, Any] = {}
    for name, component in contract.schemas.items():
        definitions[name] = _convert(component, strict)
        definitions[name + _OPEN] = _convert(component, False)
    converted["$defs"] = definitions
    return converted


def response_errors(
    contract: Contract, schema: Schema | None, body: Any, *, strict: bool = True
) -> list[str]:
    """Why ``body`` does not fit ``schema`` (an operation's 200 schema); empty when it does."""
    assert schema is not None, "the operation has no response schema"
    validator = Draft202012Validator(
        json_schema(contract, schema, strict=strict), format_checker=_FORMATS
    )
    return [
        f"{'.'.join(str(p) for p in error.absolute_path) or '$'}: {error.message}"
        for error in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    ]


def assert_fits(contract: Contract, operation_id: str, body: Any) -> None:
    """``body`` is a valid 200 answer of ``operation_id``, or the test fails listing why."""
    errors = response_errors(contract, contract.operations[operation_id].response, body)
    assert not errors, f"{operation_id} answer breaks the contract: {errors}"


#: The suffix of a component's open copy (extra properties allowed), for ``allOf`` members.
_OPEN = "~open"


def _convert(schema: Any, strict: bool) -> Any:
    if isinstance(schema, list):
        return [_convert(item, strict) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    if "$ref" in schema:
        ref = str(schema["$ref"])
        assert ref.startswith(_REF), ref
        suffix = "" if strict else _OPEN
        target: dict[str, Any] = {"$ref": "#/$defs/" + ref[len(_REF) :] + suffix}
        return {"anyOf": [target, {"type": "null"}]} if schema.get("nullable") else target
    result: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("nullable", "example", "examples", "xml", "discriminator", "deprecated"):
            continue
        if key.startswith("x-"):
            continue
        if key in ("properties", "patternProperties"):
            result[key] = {name: _convert(sub, strict) for name, sub in value.items()}
        elif key == "allOf":
            # Members stay open: the composed object is closed below, seeing all their properties.
            result[key] = _convert(value, False)
        elif key in ("items", "additionalProperties", "not", "anyOf", "oneOf"):
            result[key] = _convert(value, strict)
        else:
            result[key] = value
    # 3.0 writes exclusivity as a flag beside the bound; JSON Schema as the bound itself.
    for flag, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if result.get(flag) is True:
            result[flag] = result.pop(bound)
        elif result.get(flag) is False:
            del result[flag]
    is_object = result.get("type") == "object" or "properties" in result or "allOf" in result
    if strict and is_object and "additionalProperties" not in result:
        result["unevaluatedProperties"] = False
    if schema.get("nullable"):
        kind = result.get("type")
        if isinstance(kind, str):
            result["type"] = [kind, "null"]
        if "enum" in result:
            result["enum"] = [*result["enum"], None]
    return result


_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("decimal")
def _is_decimal(value: object) -> bool:
    if not isinstance(value, str):
        return True  # a format constrains its type only; the type is checked elsewhere
    try:
        return bool(_DECIMAL.match(value)) and Decimal(value).is_finite()
    except InvalidOperation:
        return False


@_FORMATS.checks("date-time", raises=ValueError)
def _is_utc_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATE_TIME_Z.match(value):
        return False
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


@_FORMATS.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return date.fromisoformat(value).isoformat() == value


@_FORMATS.checks("email")
def _is_email(value: object) -> bool:
    return not isinstance(value, str) or bool(_EMAIL.match(value))


@_FORMATS.checks("uuid", raises=ValueError)
def _is_uuid(value: object) -> bool:
    return not isinstance(value, str) or str(uuid.UUID(value)) == value.lower()


@_FORMATS.checks("int32")
def _is_int32(value: object) -> bool:
    return not isinstance(value, int) or -(2**31) <= value < 2**31


@_FORMATS.checks("int64")
def _is_int64(value: object) -> bool:
    return not isinstance(value, int) or -(2**63) <= value < 2**63
