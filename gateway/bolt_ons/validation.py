"""Does a bolt-on's answer match its contract? OpenAPI 3.0 schemas checked as JSON Schema.

``gateway check`` sends one sample call per declared field and validates the
JSON it gets back against the operation's response schema; tests validate
simulator answers the same way.

An OpenAPI 3.0 schema object is close to, but not, JSON Schema. The
conversion here:

- ``$ref: '#/components/schemas/X'`` becomes ``$ref: '#/$defs/X'``, every
  component schema of the contract carried along as ``$defs``;
- ``nullable: true`` admits ``null`` (in ``type``, in ``enum``, or around a
  ``$ref``/``allOf``);
- the boolean ``exclusiveMinimum``/``exclusiveMaximum`` of 3.0 become 3.1's numbers;
- OpenAPI-only keywords (``example``, ``xml``, ``discriminator``, ``x-*``...) are dropped;
- formats: ``decimal`` (an exact decimal string), ``date-time``, ``date``,
  ``int32``, ``int64`` and ``uuid`` are checked; any other format is only its type.

Example:
    >>> contract = load_contract(Path("bolt-ons/forecast.openapi.yaml"))
    >>> operation = contract.operations["batchGetForecasts"]
    >>> validate_response(contract, operation.response, {"forecasts": [{"sku": 1}]})
    ['forecasts[0].sku: 1 is not of type ...', ...]
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from gateway.bolt_ons.contract import Contract, Schema

#: Keywords of OpenAPI 3.0 schema objects that JSON Schema does not have.
OPENAPI_ONLY = frozenset({"nullable", "example", "xml", "externalDocs", "discriminator"})
#: Keywords whose value is one schema.
ONE_SCHEMA = (
    "items", "additionalProperties", "not", "contains", "propertyNames",
    "additionalItems", "unevaluatedItems", "unevaluatedProperties", "if", "then", "else",
)  # fmt: skip
#: Keywords whose value is a list of schemas.
SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
#: Keywords whose value maps names to schemas.
SCHEMA_MAPS = ("properties", "patternProperties", "dependentSchemas", "$defs", "definitions")
COMPONENT_PREFIX = "#/components/schemas/"
DECIMAL = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$")
#: How many problems one validation reports at most (the first ones, by position).
MAX_PROBLEMS = 20


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())

    @checker.checks("decimal")
    def _decimal(value: object) -> bool:
        return not isinstance(value, str) or DECIMAL.match(value) is not None

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if "T" not in value.upper():
            raise ValueError("no 'T' between the date and the time")
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
        if parsed.tzinfo is None:
            raise ValueError("no time zone offset")
        return True

    @checker.checks("date", raises=ValueError)
    def _date(value: object) -> bool:
        if isinstance(value, str):
            if len(value) != 10:
                raise ValueError("not YYYY-MM-DD")
            date.fromisoformat(value)
        return True

    @checker.checks("int32")
    def _int32(value: object) -> bool:
        return not isinstance(value, int) or -(2**31) <= value < 2**31

    @checker.checks("int64")
    def _int64(value: object) -> bool:
        return not isinstance(value, int) or -(2**63) <= value < 2**63

    @checker.checks("uuid", raises=ValueError)
    def _uuid(value: object) -> bool:
        if isinstance(value, str):
            uuid.UUID(value)
        return True

    return checker


FORMATS = _format_checker()


def to_json_schema(schema: Schema) -> dict[str, Any]:
    """One OpenAPI 3.0 schema object as JSON Schema (2020-12); ``$ref``s point into ``$defs``."""
    converted: dict[str, Any] = _convert(schema)
    return converted


def contract_json_schema(contract: Contract, schema: Schema) -> dict[str, Any]:
    """``schema`` as a standalone JSON Schema: the contract's component schemas as ``$defs``."""
    converted: dict[str, Any] = _convert(schema)
    if contract.schemas:
        converted["$defs"] = {name: _convert(body) for name, body in contract.schemas.items()}
    return converted


def validate_response(contract: Contract, schema: Schema | None, body: Any) -> list[str]:
    """The ways ``body`` (parsed JSON) breaks ``schema`` of ``contract``: none if it fits.

    Each problem is one line, ``<where>: <what>``, where is a path like
    ``forecasts[0].expected_units`` (``(response)`` for the whole body).
    Without a schema there is nothing to break.
    """
    if schema is None:
        return []
    validator = Draft202012Validator(contract_json_schema(contract, schema), format_checker=FORMATS)
    errors = sorted(validator.iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path])
    return [_problem(error) for error in errors[:MAX_PROBLEMS]]


def _problem(error: ValidationError) -> str:
    where = ""
    for part in error.absolute_path:
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    message = error.message
    if error.validator == "format" and error.cause is not None:
        message = f"{message} ({error.cause})"
    if len(message) > 200:
        message = message[:197] + "..."
    return f"{where or '(response)'}: {message}"


def _convert(schema: Any) -> Any:
    if not isinstance(schema, Mapping):
        return schema
    converted: dict[str, Any] = {}
    for key, value in schema.items():
        if key in OPENAPI_ONLY or (isinstance(key, str) and key.startswith("x-")):
            continue
        if key == "$ref" and isinstance(value, str) and value.startswith(COMPONENT_PREFIX):
            converted[key] = "#/$defs/" + value[len(COMPONENT_PREFIX) :]
        elif key in ONE_SCHEMA:
            converted[key] = _convert(value)
        elif key in SCHEMA_LISTS and isinstance(value, list):
            converted[key] = [_convert(item) for item in value]
        elif key in SCHEMA_MAPS and isinstance(value, Mapping):
            converted[key] = {name: _convert(item) for name, item in value.items()}
        else:
            converted[key] = value
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(converted.get(bound), bool) and converted.pop(bound) and limit in converted:
            converted[bound] = converted.pop(limit)
    if schema.get("nullable") is True:
        converted = _nullable(converted)
    return converted


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if (
        isinstance(kind, str)
        and "$ref" not in schema
        and not any(k in schema for k in SCHEMA_LISTS)
    ):
        schema["type"] = [kind, "null"]
        if isinstance(schema.get("enum"), list) and None not in schema["enum"]:
            schema["enum"] = [*schema["enum"], None]
        return schema
    if isinstance(kind, list):
        if "null" not in kind:
            schema["type"] = [*kind, "null"]
        return schema
    return {"anyOf": [schema, {"type": "null"}]}


__all__ = ["FORMATS", "contract_json_schema", "to_json_schema", "validate_response"]
