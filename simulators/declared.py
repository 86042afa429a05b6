"""A simulator generated from a declared bolt-on's OpenAPI contract (docs: BOLT_ONS.md).

``gateway simulators`` and ``gateway demo`` serve one for each declaration in
``bolt_ons_dir``, so a bolt-on can be tried before the partner's server
exists. It behaves like the hand-written simulators: the same knobs,
counters and ``/_sim`` admin endpoints (``simulators.common``), the
contract's authentication, strict 400s naming the field.

What it serves: every GET and POST operation of the contract that has a JSON
200 response schema. An operation a declared field uses knows its keys:

- Many keys per call (``batch_param``: a repeated query parameter, also
  comma-separated, or an array body property): the result items of the
  known keys, in request order, a repeated key answered once; unknown keys
  are omitted. More keys than the contract's ``maxItems``: a 400 naming the
  limit.
- One call per key (``param``: a path or query parameter): the result item
  (or, when the response is an array, the list) of the key; 404 for an
  unknown key.
- Other operations answer a response generated from all their arguments.

Which keys exist (``known_key``): every key except those starting with
``__`` (probes) or containing ``UNKNOWN`` in any case. That is the whole rule,
so a test can name a missing key without knowing the simulator's data.

Values (``sample``) are derived from a SHA-256 of the call's seed (the
operationId, the key and the arguments with the contract's defaults filled
in) and the property's path, so the same request always gets the same
answer, and an argument reaches every value:

- the ``match`` property, and a string property named like the key
  parameter, equal the key; a property named like an argument echoes it;
- string enums pick a member; ``format: decimal`` strings are exact
  two-place decimals within ``minimum``/``maximum`` (default 1.00..1000.00);
  ``date-time`` is a UTC ``...Z`` time in 2026, ``date`` a 2026 date,
  ``email`` an ``@example.com`` address, ``uuid`` a UUID; other strings are
  ``<property>-<hex>`` (``pattern`` is not honoured);
- integers stay within ``minimum``/``maximum``; an ``int64`` without a
  ``maximum`` is, by the hash, small, just past 2^31, or an odd number past
  2^53 (a float would round it), so exactness is exercised;
- objects have all required properties and each optional one two times in
  three; arrays hold 1..3 items; a ``many`` field gets 1..3 results per key.

``expected_result`` computes what the simulator answers for a key, for tests.

Example:
    >>> declaration = load_declarations(Path("examples/bolt-ons"))[0]
    >>> app = create_declared_app(declaration, secret="token")
    >>> # GET /v1/forecasts?sku=SKU-00001&sku=__probe -> one forecast
    >>> expected_result(declaration, "forecast", "SKU-00001", {"horizon_days": 7})
    {'sku': 'SKU-00001', 'horizon_days': 7, ...}
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.bolt_ons.contract import Contract, Operation, Parameter, Schema
from gateway.bolt_ons.declaration import Declaration, FieldDeclaration, result_schema
from simulators.common import (
    ContractRoutes,
    Guard,
    Problem,
    SimulatorState,
    api_key_guard,
    bearer_guard,
    decimal_str,
    iso_z,
    json_response,
    simulator_app,
)

#: Generated times fall in this year: fixed, so answers never change with the clock.
WINDOW_START = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW_DAYS = 365
#: A ``format: decimal`` string without bounds lies in this range.
DECIMAL_RANGE = (Decimal("1.00"), Decimal("1000.00"))
#: An integer without a maximum spans this many values above its minimum (int32 capped):
#: small, plausible numbers; an int64's large values come from its own rule.
SMALL_SPAN = 1_000
INT32_MAX = 2**31 - 1
#: Arrays (and a ``many`` field's results per key) hold 1..MAX_ITEMS items.
MAX_ITEMS = 3
#: Nested objects deeper than this are cut off (a schema may refer to itself).
MAX_DEPTH = 12

#: Operations a generated simulator can serve.
SERVED_METHODS = ("GET", "POST")
#: Where the buffered request body waits in the ASGI scope for the key reader.
_BODY_SCOPE_KEY = "simulators.declared.body"


# --- keys ------------------------------------------------------------------


def known_key(key: str) -> bool:
    """Whether the simulated bolt-on knows ``key``.

    Unknown: empty keys, keys starting with ``__`` (what probes use) and keys
    containing ``UNKNOWN`` in any case (``SKU-UNKNOWN-1``). Every other key is
    known, so tests and the demo's seeded core get answers for all real keys.
    """
    return bool(key) and not key.startswith("__") and "unknown" not in key.lower()


# --- values ----------------------------------------------------------------


def stable_hash(seed: str, path: str, salt: str = "") -> int:
    """A non-negative 64-bit integer from SHA-256: the same inputs, the same number."""
    digest = hashlib.sha256(f"{seed}\x1f{path}\x1f{salt}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def sample(
    contract: Contract, schema: Schema, seed: str, *, echo: Mapping[str, Any] | None = None
) -> Any:
    """A JSON value fitting ``schema`` (``$ref``s followed in ``contract``), derived from ``seed``.

    Pure: the same arguments give the same value. ``echo`` sets properties of
    the top-level object as given (the key, echoed arguments), whether
    required or not.
    """
    return _Sampler(contract, seed).value(schema, "$", echo or {}, 0)


@dataclass(frozen=True)
class _Sampler:
    contract: Contract
    seed: str

    def hash(self, path: str, salt: str = "") -> int:
        return stable_hash(self.seed, path, salt)

    def value(self, schema: Schema, path: str, echo: Mapping[str, Any], depth: int) -> Any:
        schema = _resolved(self.contract, schema, self.hash(path, "variant"))
        if schema.get("enum"):
            members = list(schema["enum"])
            return members[self.hash(path, "enum") % len(members)]
        kind = _type_of(schema)
        if kind == "object":
            return self.object(schema, path, echo, depth)
        if kind == "array":
            return self.array(schema, path, depth)
        if kind == "integer":
            return self.integer(schema, path)
        if kind == "number":
            return float(self.cents(schema, path, (Decimal(0), Decimal(1000))))
        if kind == "boolean":
            return self.hash(path, "bool") % 2 == 1
        return self.string(schema, path)

    def object(
        self, schema: Schema, path: str, echo: Mapping[str, Any], depth: int
    ) -> dict[str, Any] | None:
        properties: Mapping[str, Schema] = schema.get("properties") or {}
        required = set(schema.get("required") or ())
        if depth > MAX_DEPTH:
            return None
        result: dict[str, Any] = {}
        for name, sub in properties.items():
            if name in echo:
                result[name] = echo[name]
                continue
            where = f"{path}.{name}"
            # Optional properties are left out one time in three: clients see both shapes.
            if name not in required and self.hash(where, "present") % 3 == 0:
                continue
            result[name] = self.value(sub, where, {}, depth + 1)
        return result

    def array(self, schema: Schema, path: str, depth: int) -> list[Any]:
        low = int(schema.get("minItems", 1 if depth < MAX_DEPTH else 0))
        high = max(low, int(schema.get("maxItems", MAX_ITEMS)))
        count = min(high, max(low, 1 + self.hash(path, "count") % MAX_ITEMS))
        items = [
            self.value(schema.get("items") or {}, f"{path}[{index}]", {}, depth + 1)
            for index in range(count)
        ]
        if schema.get("uniqueItems"):
            unique: list[Any] = []
            for item in items:
                if item not in unique:
                    unique.append(item)
            items = unique
        return items

    def integer(self, schema: Schema, path: str) -> int:
        low, high = _int_bounds(schema)
        wide = schema.get("format") == "int64"
        number = self.hash(path, "int")
        if high is None and wide:
            # Small, past 2^31, or odd past 2^53 (no float holds it): exactness is exercised.
            bucket = number % 3
            base = low if low is not None else 0
            if bucket == 1:
                return max(base, 2**31) + number // 3 % 1_000_000
            if bucket == 2:
                return max(base, 2**53) + 1 + 2 * (number // 3 % 500)
            return base + number // 3 % SMALL_SPAN
        if low is None:
            low = 0 if high is None or high >= 0 else high - SMALL_SPAN + 1
        if high is None:
            high = low + SMALL_SPAN - 1
            if not wide:
                high = max(low, min(high, INT32_MAX))
        high = max(high, low)
        value = low + number % (high - low + 1)
        step = schema.get("multipleOf")
        if isinstance(step, int) and not isinstance(step, bool) and step > 0:
            value -= value % step
            if value < low:
                value += step
        return value

    def cents(self, schema: Schema, path: str, default: tuple[Decimal, Decimal]) -> Decimal:
        """A two-place decimal within the schema's bounds (``default`` where it has none)."""
        low = _decimal_bound(schema, "minimum", "exclusiveMinimum", default[0], ROUND_CEILING)
        high = _decimal_bound(schema, "maximum", "exclusiveMaximum", default[1], ROUND_FLOOR)
        low_cents, high_cents = int(low * 100), max(int(low * 100), int(high * 100))
        cents = low_cents + self.hash(path, "cents") % (high_cents - low_cents + 1)
        return Decimal(cents) / 100

    def string(self, schema: Schema, path: str) -> str:
        number = self.hash(path, "str")
        form = schema.get("format")
        if form == "decimal":
            return decimal_str(self.cents(schema, path, DECIMAL_RANGE))
        if form == "date-time":
            return iso_z(WINDOW_START + timedelta(seconds=number % (WINDOW_DAYS * 86_400)))
        if form == "date":
            return (WINDOW_START.date() + timedelta(days=number % WINDOW_DAYS)).isoformat()
        if form == "email":
            return f"user{number % 100_000:05d}@example.com"
        if form == "uuid":
            return str(uuid.UUID(int=number << 64 | number, version=4))
        if form in ("uri", "url"):
            return f"https://example.com/{_label(path)}/{number:016x}"
        if form == "byte":
            return base64.b64encode(number.to_bytes(8, "big")).decode()
        text = f"{_label(path)}-{number:016x}"[:24]
        longest = schema.get("maxLength")
        if isinstance(longest, int):
            text = text[-longest:] if longest else ""
        shortest = schema.get("minLength")
        if isinstance(shortest, int) and len(text) < shortest:
            text = text.ljust(shortest, "0")
        return text


def _resolved(contract: Contract, schema: Schema, choice: int) -> Schema:
    """``schema`` with ``$ref`` followed, ``allOf`` merged and one ``oneOf``/``anyOf`` chosen."""
    _, schema = contract.deref(schema)
    if "allOf" in schema:
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        properties: dict[str, Any] = dict(merged.get("properties") or {})
        required: list[str] = list(merged.get("required") or ())
        for part in schema["allOf"]:
            part = _resolved(contract, part, choice)
            properties.update(part.get("properties") or {})
            required.extend(part.get("required") or ())
            merged.update({k: v for k, v in part.items() if k not in ("properties", "required")})
        merged["properties"], merged["required"] = properties, required
        schema = merged
    for keyword in ("oneOf", "anyOf"):
        options = schema.get(keyword)
        if options:
            rest = {k: v for k, v in schema.items() if k != keyword}
            return {**rest, **_resolved(contract, options[choice % len(options)], choice)}
    return schema


def _type_of(schema: Schema) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):  # OpenAPI 3.1: ["string", "null"]
        kind = next((k for k in kind if k != "null"), "string")
    if isinstance(kind, str):
        return kind
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return "string"


def _int_bounds(schema: Schema) -> tuple[int | None, int | None]:
    low = _number_or_none(schema.get("minimum"))
    high = _number_or_none(schema.get("maximum"))
    low_exclusive, high_exclusive = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    # OpenAPI 3.0 writes exclusivity as booleans, 3.1 as the bound itself.
    if low_exclusive is True and low is not None:
        low += 1
    elif _number_or_none(low_exclusive) is not None:
        low = int(_number_or_none(low_exclusive) or 0) + 1
    if high_exclusive is True and high is not None:
        high -= 1
    elif _number_or_none(high_exclusive) is not None:
        high = int(_number_or_none(high_exclusive) or 0) - 1
    return (None if low is None else int(low)), (None if high is None else int(high))


def _number_or_none(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def _decimal_bound(
    schema: Schema, inclusive: str, exclusive: str, default: Decimal, rounding: str
) -> Decimal:
    """A bound to the cent, rounded inwards; one cent further in when it is exclusive."""
    inward = Decimal("0.01") if inclusive == "minimum" else Decimal("-0.01")
    flag = schema.get(exclusive)
    # OpenAPI 3.0 marks exclusivity with a boolean beside the bound, 3.1 gives the bound itself.
    bound = _decimal_or_none(schema.get(inclusive))
    if bound is None and flag is not True:
        bound = _decimal_or_none(flag)
        flag = bound is not None
    if bound is None:
        return default
    rounded = bound.quantize(Decimal("0.01"), rounding=rounding)
    return rounded + inward if flag is True and rounded == bound else rounded


def _decimal_or_none(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _label(path: str) -> str:
    """The property name a value sits under: ``$.contact.name`` -> ``name``."""
    last = re.sub(r"\[\d+\]", "", path).rsplit(".", 1)[-1]
    return last if last and last != "$" else "value"


# --- results of a declared field ------------------------------------------


def _canonical(value: Any) -> Any:
    """Argument values as the seed spells them: 30, 30.0 and "30" from a query are one."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | Decimal):
        return format(Decimal(str(value)).normalize(), "f")
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    return str(value)


def call_seed(operation_id: str, key: str | None, arguments: Mapping[str, Any]) -> str:
    """The seed of one key's (or one call's) values: operation, key and arguments."""
    canonical = {name: _canonical(v) for name, v in arguments.items() if v is not None}
    return json.dumps([operation_id, key, canonical], sort_keys=True, separators=(",", ":"))


def _key_name(declared: FieldDeclaration) -> str:
    name = declared.batch_param or declared.param
    assert name is not None  # the declaration guarantees one of them
    return name


def _defaults(operation: Operation, exclude: str | None) -> dict[str, Any]:
    """The contract's defaults of every argument of ``operation`` but the key."""
    found: dict[str, Any] = {}
    for name, parameter in operation.parameters.items():
        if name != exclude and parameter.default is not None:
            found[name] = parameter.default
    for name, schema in operation.body_properties().items():
        if name != exclude and isinstance(schema, Mapping) and "default" in schema:
            found[name] = schema["default"]
    return found


def _fits(contract: Contract, schema: Schema, value: Any) -> bool:
    _, schema = contract.deref(schema)
    kind = _type_of(schema)
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list)
    return isinstance(value, dict)


def _key_items(
    contract: Contract, declared: FieldDeclaration, key: str, arguments: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The result items of one known key: one, or 1..3 for a ``many`` field."""
    _, item_schema = result_schema(contract, declared)
    properties: Mapping[str, Schema] = item_schema.get("properties") or {}
    key_name = _key_name(declared)
    echo: dict[str, Any] = {
        name: value
        for name, value in arguments.items()
        if name in properties and _fits(contract, properties[name], value)
    }
    if key_name in properties and _fits(contract, properties[key_name], key):
        echo[key_name] = key
    # The match property carries the key whatever else the contract says: the join needs it.
    echo[declared.match] = key
    seed = call_seed(declared.operation.operation_id, key, arguments)
    if not declared.many:
        return [sample(contract, item_schema, seed, echo=echo)]
    count = 1 + stable_hash(seed, "$", "results") % MAX_ITEMS
    return [sample(contract, item_schema, f"{seed}#{i}", echo=echo) for i in range(count)]


def _field_named(declaration: Declaration, field: FieldDeclaration | str) -> FieldDeclaration:
    if isinstance(field, FieldDeclaration):
        return field
    for declared in declaration.fields:
        if declared.name == field:
            return declared
    raise KeyError(f"{declaration.name} declares no field {field!r}")


def expected_result(
    declaration: Declaration,
    field: FieldDeclaration | str,
    key: str,
    args: Mapping[str, Any] | None = None,
) -> Any:
    """What the simulator answers for ``key`` in a call of ``field``'s operation.

    The result item (a dict); for a ``many`` field the list of them; for an
    unknown key ``None`` (``[]`` when ``many``): what the gateway makes of
    an omission or a 404. ``args`` are argument values by their contract
    names (``{"horizon_days": 7}``); missing ones take the contract's defaults,
    as the simulator does for a request that leaves them out.
    """
    declared = _field_named(declaration, field)
    if not known_key(key):
        return [] if declared.many else None
    arguments = {**_defaults(declared.operation, _key_name(declared)), **(args or {})}
    items = _key_items(declaration.contract, declared, key, arguments)
    return items if declared.many else items[0]


# --- reading requests ------------------------------------------------------


def _split(values: Sequence[str]) -> list[str]:
    """Repeated and comma-separated query values: ``?sku=a&sku=b,c`` -> a, b, c."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _query_value(parameter: Parameter, raw: Sequence[str], contract: Contract) -> Any:
    _, schema = contract.deref(parameter.schema)
    if _type_of(schema) == "array":
        _, item = contract.deref(schema.get("items") or {})
        values = [_scalar(parameter.name, item, text) for text in _split(raw)]
        _check(contract, schema, values, parameter.name)
        return values
    if len(raw) > 1:
        raise Problem(400, f"{parameter.name} may be given once")
    value = _scalar(parameter.name, schema, raw[0])
    _check(contract, schema, value, parameter.name)
    return value


def _scalar(name: str, schema: Schema, text: str) -> Any:
    """A query, path or header value read as its schema's type, or a 400 naming it."""
    kind = _type_of(schema)
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            raise Problem(400, f"{name} must be an integer, got {text!r}") from None
    if kind == "number":
        number = _decimal_or_none(text)
        if number is None or not number.is_finite():
            raise Problem(400, f"{name} must be a number, got {text!r}")
        return number
    if kind == "boolean":
        if text.lower() in ("true", "1"):
            return True
        if text.lower() in ("false", "0"):
            return False
        raise Problem(400, f"{name} must be true or false, got {text!r}")
    return text


def _check(contract: Contract, schema: Schema, value: Any, where: str) -> None:
    """A value against its schema, strictly enough to catch a client's mistakes; 400 otherwise."""
    _, schema = contract.deref(schema)
    if value is None:
        if schema.get("nullable"):
            return
        raise Problem(400, f"{where} must not be null")
    kind = _type_of(schema)
    if not _fits(contract, schema, value) and not (kind == "number" and isinstance(value, Decimal)):
        raise Problem(400, f"{where} must be {'an' if kind[0] in 'aeiou' else 'a'} {kind}")
    enum = schema.get("enum")
    if enum and value not in enum:
        raise Problem(400, f"{where} must be one of {', '.join(str(e) for e in enum)}")
    if kind in ("integer", "number"):
        low, high = schema.get("minimum"), schema.get("maximum")
        if (low is not None and value < low) or (high is not None and value > high):
            raise Problem(400, f"{where} must be between {low} and {high}, got {value}")
    elif kind == "string":
        if schema.get("format") == "decimal":
            try:
                Decimal(value)
            except InvalidOperation:
                raise Problem(400, f"{where} must be a decimal string like '12.50'") from None
    elif kind == "array":
        _check_array(contract, schema, value, where)
    elif kind == "object":
        _check_object(contract, schema, value, where)


def _check_array(contract: Contract, schema: Schema, value: list[Any], where: str) -> None:
    limit, least = schema.get("maxItems"), schema.get("minItems")
    if isinstance(limit, int) and len(value) > limit:
        raise Problem(400, f"{where} may hold at most {limit} items, got {len(value)}")
    if isinstance(least, int) and len(value) < least:
        raise Problem(400, f"{where} must hold at least {least} item(s)")
    for index, item in enumerate(value):
        _check(contract, schema.get("items") or {}, item, f"{where}[{index}]")


def _check_object(contract: Contract, schema: Schema, value: dict[str, Any], where: str) -> None:
    prefix = f"{where}." if where else ""
    properties: Mapping[str, Schema] = schema.get("properties") or {}
    for name in schema.get("required") or ():
        if name not in value:
            raise Problem(400, f"{prefix}{name} is required")
    if schema.get("additionalProperties") is False:
        extra = sorted(set(value) - set(properties))
        if extra:
            raise Problem(400, f"{prefix}{extra[0]} is not a property the contract knows")
    for name, item in value.items():
        if name in properties:
            _check(contract, properties[name], item, f"{prefix}{name}")


@dataclass(frozen=True)
class _Call:
    """One request read: the keys (if the operation has any) and every other argument."""

    keys: list[str]
    arguments: dict[str, Any]


@dataclass(frozen=True)
class _Endpoint:
    """How one operation is served: its field (if declared) and where its keys come from."""

    contract: Contract
    operation: Operation
    declared: FieldDeclaration | None
    #: OpenAPI path parameter names -> the Starlette names they are routed under.
    path_names: Mapping[str, str]

    @property
    def key_name(self) -> str | None:
        return None if self.declared is None else _key_name(self.declared)

    @property
    def batched(self) -> bool:
        return self.declared is not None and self.declared.batch_param is not None

    def body_keys(self) -> bool:
        return self.batched and self.key_name not in self.operation.parameters

    async def read(self, request: Request) -> _Call:
        """The call's keys and arguments (defaults filled in), or a 400 naming the problem."""
        operation, contract, key_name = self.operation, self.contract, self.key_name
        arguments: dict[str, Any] = _defaults(operation, key_name)
        keys: list[str] = []
        for name, parameter in operation.parameters.items():
            if parameter.location == "path":
                raw = [str(request.path_params.get(self.path_names.get(name, ""), ""))]
            elif parameter.location == "header":
                raw = request.headers.getlist(name)
            else:
                raw = request.query_params.getlist(name)
            if name == key_name:
                keys = self.query_keys(parameter, raw)
                continue
            if not raw or (parameter.location != "path" and not any(r.strip() for r in raw)):
                if parameter.required:
                    raise Problem(400, f"{name} is required")
                continue
            if parameter.location == "query":
                arguments[name] = _query_value(parameter, raw, contract)
            else:
                arguments[name] = _scalar(name, contract.deref(parameter.schema)[1], raw[0])
                _check(contract, parameter.schema, arguments[name], name)
        if operation.body is not None and operation.method == "POST":
            body = _parse_body(request)
            if self.body_keys():
                keys = self.body_batch(body)
            _check_object(contract, operation.body, body, "")
            arguments.update({k: v for k, v in body.items() if k != key_name})
        return _Call(keys, arguments)

    def query_keys(self, parameter: Parameter, raw: Sequence[str]) -> list[str]:
        if not self.batched:
            if not raw or not raw[0].strip():
                raise Problem(400, f"{parameter.name} is required")
            return [raw[0]]
        keys = _split(raw)
        if not keys:
            raise Problem(400, f"at least one {parameter.name} parameter is required")
        limit = self.operation.batch_limit(parameter.name)
        if limit is not None and len(keys) > limit:
            raise Problem(
                400, f"at most {limit} {parameter.name} parameters are allowed, got {len(keys)}"
            )
        return keys

    def body_batch(self, body: Mapping[str, Any]) -> list[str]:
        name = self.key_name
        assert name is not None
        keys = body.get(name)
        if not isinstance(keys, list) or not keys:
            raise Problem(400, f"{name} is required and must be a non-empty array")
        limit = self.operation.batch_limit(name)
        if limit is not None and len(keys) > limit:
            raise Problem(400, f"{name} may hold at most {limit} items, got {len(keys)}")
        for index, key in enumerate(keys):
            if not isinstance(key, str) or not key:
                raise Problem(400, f"{name}[{index}] must be a non-empty string")
        return keys

    def logged_keys(self, request: Request) -> list[str]:
        """The keys of a call for the batch log, best effort: never raises."""
        name = self.key_name
        if name is None:
            return []
        parameter = self.operation.parameters.get(name)
        if parameter is None:
            body = _parsed_or_none(request.scope.get(_BODY_SCOPE_KEY, b""))
            keys = body.get(name) if isinstance(body, dict) else None
            return [str(k) for k in keys] if isinstance(keys, list) else []
        if parameter.location == "path":
            return [str(request.path_params.get(self.path_names.get(name, ""), ""))]
        raw = request.query_params.getlist(name)
        return _split(raw) if self.batched else raw[:1]

    async def __call__(self, request: Request) -> Response:
        call = await self.read(request)
        if self.declared is None:
            seed = call_seed(self.operation.operation_id, None, call.arguments)
            assert self.operation.response is not None
            return json_response(self.generic(seed, call.arguments))
        declared = self.declared
        if self.batched:
            results = [
                item
                for key in dict.fromkeys(call.keys)
                if known_key(key)
                for item in _key_items(self.contract, declared, key, call.arguments)
            ]
            return json_response(self.wrapped(declared, results, call, many=True))
        key = call.keys[0]
        if not known_key(key):
            name, _ = result_schema(self.contract, declared)
            raise Problem(404, f"no {name or 'result'} for {self.key_name} {key!r}")
        items = _key_items(self.contract, declared, key, call.arguments)
        return json_response(self.wrapped(declared, items, call, many=False))

    def generic(self, seed: str, arguments: Mapping[str, Any]) -> Any:
        """An undeclared operation's response: generated from all its arguments."""
        assert self.operation.response is not None
        _, schema = self.contract.deref(self.operation.response)
        properties: Mapping[str, Schema] = schema.get("properties") or {}
        echo = {
            name: value
            for name, value in arguments.items()
            if name in properties and _fits(self.contract, properties[name], value)
        }
        return sample(self.contract, schema, seed, echo=echo)

    def wrapped(
        self, declared: FieldDeclaration, items: list[Any], call: _Call, *, many: bool
    ) -> Any:
        """The response around the results: the list itself, one item, or an envelope."""
        assert self.operation.response is not None
        _, schema = self.contract.deref(self.operation.response)
        holder = schema
        if declared.items is not None:
            holder = self.contract.deref((schema.get("properties") or {})[declared.items])[1]
        is_list = _type_of(holder) == "array"
        # One call per key and an object response: the key's single result.
        results: Any = items if is_list or many else (items[0] if items else None)
        if declared.items is None:
            return results
        seed = call_seed(self.operation.operation_id, "|".join(call.keys), call.arguments)
        return sample(self.contract, schema, seed, echo={declared.items: results})


def _parse_body(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(request.scope.get(_BODY_SCOPE_KEY, b""))
    except orjson.JSONDecodeError:
        raise Problem(400, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise Problem(400, "the body must be a JSON object")
    return body


def _parsed_or_none(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def _buffer_body(app: ASGIApp) -> ASGIApp:
    """Read the whole body first and keep it in the scope, then replay it to ``app``.

    ``ContractRoutes`` logs a call's batch keys before the endpoint runs, from
    the request as it arrives; keys in a JSON body are only readable that
    early from a body read ahead like this.
    """

    async def buffered(scope: Scope, receive: Receive, send: Send) -> None:
        chunks: list[bytes] = []
        ended: Message | None = None
        while True:
            message = await receive()
            if message["type"] != "http.request":
                ended = message  # the client went away mid-body
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        scope[_BODY_SCOPE_KEY] = b"".join(chunks)
        pending: list[Message] = [
            ended or {"type": "http.request", "body": scope[_BODY_SCOPE_KEY], "more_body": False}
        ]

        async def replay() -> Message:
            # The body once, then the real channel (a hang watches it for a disconnect).
            return pending.pop() if pending else await receive()

        await app(scope, replay, send)

    return buffered


# --- the app ---------------------------------------------------------------


class _OpenGuard(Guard):
    """No credential is checked: the declaration names no secret (or the contract no auth)."""

    def allows(self, request: Request) -> bool:
        return True


def _guard(declaration: Declaration, secret: str | None) -> Guard:
    auth = declaration.contract.auth
    if secret is None or auth.kind == "none":
        return _OpenGuard(header="authorization", secret="")
    if auth.kind == "bearer":
        return bearer_guard(secret)
    return api_key_guard(secret, header=auth.header)


def served_operations(declaration: Declaration) -> tuple[str, ...]:
    """The operationIds the generated simulator serves: GET and POST ones with a JSON response."""
    return tuple(
        op.operation_id
        for op in declaration.contract.operations.values()
        if op.method in SERVED_METHODS and op.response is not None
    )


def _starlette_path(path: str) -> tuple[str, dict[str, str]]:
    """``/v2/products/{sku}/plans`` with each parameter renamed to a Python identifier."""
    names: dict[str, str] = {}

    def renamed(match: re.Match[str]) -> str:
        name = match.group(1)
        names[name] = f"p{len(names)}_{re.sub(r'[^0-9A-Za-z_]', '_', name)}"
        return "{" + names[name] + "}"

    return re.sub(r"\{([^}]+)\}", renamed, path), names


def create_declared_app(
    declaration: Declaration, *, secret: str | None, state: SimulatorState | None = None
) -> Starlette:
    """The simulator of one declared bolt-on, generated from its contract.

    Args:
        declaration: the bolt-on (its contract and the fields that use it).
        secret: the credential every contract call must carry as the contract's
            auth says (``Authorization: Bearer`` or its API key header);
            ``None`` accepts any call.
        state: knobs and counters; a new ``SimulatorState(declaration.name)`` if omitted.

    Example:
        >>> state = SimulatorState("forecast")
        >>> app = create_declared_app(declaration, secret="token", state=state)
        >>> # serve it, GET /v1/forecasts?sku=A&sku=B, then:
        >>> state.batches("batchGetForecasts")
        [['A', 'B']]
    """
    state = state if state is not None else SimulatorState(declaration.name)
    contract = declaration.contract
    routes = ContractRoutes(state, _guard(declaration, secret))
    declared_by: dict[str, FieldDeclaration] = {}
    for declared in declaration.fields:
        declared_by.setdefault(declared.operation.operation_id, declared)
    built: list[tuple[int, BaseRoute]] = []
    for operation_id in served_operations(declaration):
        operation = contract.operations[operation_id]
        path, names = _starlette_path(operation.path)
        endpoint = _Endpoint(contract, operation, declared_by.get(operation_id), names)
        # Only operations with keys log them: the batch log shows how the gateway batched.
        keys = endpoint.logged_keys if endpoint.declared is not None else None
        route = routes.route(path, operation_id, endpoint, operation.method, keys=keys)
        if operation.body is not None and operation.method == "POST":
            route.app = _buffer_body(route.app)
        built.append((len(names), route))
    # Literal paths before templated ones: /v1/items/search must not be taken for /v1/items/{id}.
    built.sort(key=lambda entry: entry[0])
    return simulator_app(state, [route for _, route in built])


__all__ = [
    "DECIMAL_RANGE",
    "WINDOW_START",
    "call_seed",
    "create_declared_app",
    "expected_result",
    "known_key",
    "sample",
    "served_operations",
    "stable_hash",
]
