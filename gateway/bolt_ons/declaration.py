"""Declarations of bolt-ons: ``bolt_ons_dir/*.toml`` read and checked against their contracts.

The format is ``../shared/BOLT_ONS.md`` (binding). A declaration that cannot
work stops start-up (and ``gateway check``) with a ``DeclarationError``
whose one line names the file, the key and the problem::

    bolt-ons/forecast.toml: fields[0].operation: 'getForecast' is not an operationId
    of forecast.openapi.yaml (it has: batchGetForecasts, getSeasonality)

What needs the GraphQL schema (the core type, the key field, name clashes)
is checked where the fields are added (``gateway.bolt_ons.graph``), with the
same error.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.bolt_ons.contract import Contract, ContractError, Operation, Schema, load_contract
from plugins import BUILT_IN

#: The keys of a declaration and of each of its ``[[fields]]`` (BOLT_ONS.md).
TOP_KEYS = frozenset(
    {
        "name",
        "contract",
        "base_url",
        "secret_env",
        "timeout",
        "cache_ttl",
        "stale_on_error",
        "fields",
    }
)
FIELD_KEYS = frozenset(
    {
        "on", "name", "operation", "key", "batch_param", "param", "items", "match", "many",
        "args", "scope", "cost", "description", "read", "concurrency",
    }
)  # fmt: skip
#: Service names taken: the core, the gateway's own, and each code plugin's.
RESERVED_NAMES = frozenset({"core", "gateway", *(plugin.name for plugin in BUILT_IN)})
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
FIELD_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")
SCOPE = re.compile(r"^[a-z][a-z0-9_.-]*:[a-z][a-z0-9_.-]*$")
#: One call per key runs at most this many calls of one field at once, unless declared.
DEFAULT_CONCURRENCY = 8


class DeclarationError(ValueError):
    """A declaration that cannot work: ``<file>: <key>: <problem>`` on one line."""

    def __init__(self, file: Path | str, key: str, problem: str) -> None:
        super().__init__(f"{file}: {key}: {problem}")
        self.file = str(file)
        self.key = key
        self.problem = problem


@dataclass(frozen=True, slots=True)
class FieldDeclaration:
    """One field a bolt-on adds to a core type (one ``[[fields]]`` table)."""

    service: str
    index: int
    on: str
    name: str
    operation: Operation
    key: str
    match: str
    batch_param: str | None = None
    param: str | None = None
    items: str | None = None
    many: bool = False
    args: tuple[str, ...] = ()
    scope: str | None = None
    cost: int | None = None
    description: str | None = None
    read: bool = False
    concurrency: int = DEFAULT_CONCURRENCY

    @property
    def where(self) -> str:
        """The key prefix in error messages: ``fields[0]``."""
        return f"fields[{self.index}]"

    @property
    def label(self) -> str:
        """``service.operationId``: cache policies, metrics and read marks use it."""
        return f"{self.service}.{self.operation.operation_id}"

    @property
    def coordinate(self) -> str:
        return f"{self.on}.{self.name}"

    @property
    def batch_limit(self) -> int | None:
        return None if self.batch_param is None else self.operation.batch_limit(self.batch_param)

    @property
    def reads(self) -> bool:
        """Safe to cache, coalesce and retry: a GET, or a POST marked or declared a read."""
        return self.operation.reads or self.read


@dataclass(frozen=True)
class Declaration:
    """A declared bolt-on: its service, contract, connection settings and fields."""

    file: Path
    name: str
    contract: Contract
    base_url: str
    secret_env: str | None
    timeout: float
    cache_ttl: float
    stale_on_error: bool
    fields: tuple[FieldDeclaration, ...]

    def fresh_ttl(self, field: FieldDeclaration, overrides: Mapping[str, float]) -> float:
        """Seconds ``field``'s answers stay fresh: ``cache_ttls`` by ``name.operationId``,
        else by ``name``, else the declaration's ``cache_ttl``."""
        return overrides.get(field.label, overrides.get(self.name, self.cache_ttl))

    @property
    def secret(self) -> str | None:
        """The credential, from ``secret_env`` (never stored in the declaration)."""
        return os.environ.get(self.secret_env) if self.secret_env else None

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(f.scope for f in self.fields if f.scope is not None)


def load_declarations(
    folder: Path | None, *, environ: Mapping[str, str] | None = None
) -> tuple[Declaration, ...]:
    """Every ``*.toml`` of ``folder`` (sorted by file name); none if the folder is missing.

    ``GATEWAY_BOLT_ON_<NAME>_URL``, ``_TIMEOUT`` and ``_CACHE_TTL`` override a
    declaration's ``base_url``, ``timeout`` and ``cache_ttl``.

    Raises:
        DeclarationError: the first problem found.
    """
    if folder is None or not folder.is_dir():
        return ()
    env = os.environ if environ is None else environ
    declarations: list[Declaration] = []
    seen: dict[str, Path] = {}
    for file in sorted(folder.glob("*.toml")):
        declaration = load_declaration(file, environ=env)
        if declaration.name in seen:
            raise DeclarationError(
                file,
                "name",
                f"{declaration.name!r} is already declared by {seen[declaration.name]}",
            )
        seen[declaration.name] = file
        declarations.append(declaration)
    return tuple(declarations)


def load_declaration(file: Path, *, environ: Mapping[str, str] | None = None) -> Declaration:
    """Read and check one declaration file (see ``load_declarations``)."""
    env = os.environ if environ is None else environ
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DeclarationError(file, "-", f"cannot read it ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise DeclarationError(file, "-", f"not valid TOML ({exc})") from None
    _no_unknown_keys(file, "", raw, TOP_KEYS)
    name = _name(file, raw)
    contract_name = _string(file, raw, "contract", required=True)
    try:
        contract = load_contract((file.parent / contract_name).resolve())
    except ContractError as exc:
        raise DeclarationError(file, "contract", str(exc)) from None
    prefix = f"GATEWAY_BOLT_ON_{name.upper()}_"
    base_url = env.get(prefix + "URL") or _string(file, raw, "base_url") or _server(contract)
    if not base_url:
        raise DeclarationError(file, "base_url", "missing, and the contract names no server")
    if not re.match(r"^https?://", base_url):
        raise DeclarationError(file, "base_url", f"{base_url!r} is not an http(s) URL")
    secret_env = _string(file, raw, "secret_env")
    if secret_env is not None and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", secret_env):
        raise DeclarationError(
            file, "secret_env", f"{secret_env!r} is not an environment variable name"
        )
    if contract.auth.kind != "none" and secret_env is None:
        raise DeclarationError(
            file, "secret_env", f"the contract requires {contract.auth.kind} auth: name the "
            "environment variable holding the credential",
        )  # fmt: skip
    timeout = _number(file, raw, "timeout", env.get(prefix + "TIMEOUT"), default=2.0)
    if timeout <= 0:
        raise DeclarationError(file, "timeout", "must be more than 0 seconds")
    cache_ttl = _number(file, raw, "cache_ttl", env.get(prefix + "CACHE_TTL"), default=0.0)
    if cache_ttl < 0:
        raise DeclarationError(file, "cache_ttl", "must be 0 (not cached) or more seconds")
    stale_on_error = _bool(file, raw, "stale_on_error", "stale_on_error")
    fields = _fields(file, name, contract, raw.get("fields"))
    return Declaration(
        file=file,
        name=name,
        contract=contract,
        base_url=base_url.rstrip("/"),
        secret_env=secret_env,
        timeout=timeout,
        cache_ttl=cache_ttl,
        stale_on_error=stale_on_error,
        fields=fields,
    )


def _name(file: Path, raw: Mapping[str, Any]) -> str:
    name: str = _string(file, raw, "name", required=True)
    if not NAME.match(name):
        raise DeclarationError(
            file, "name", f"{name!r} must be lower case letters, digits and _ (a-z first)"
        )
    if name in RESERVED_NAMES:
        raise DeclarationError(file, "name", f"{name!r} is the name of a built-in service")
    return name


def _fields(
    file: Path, service: str, contract: Contract, tables: Any
) -> tuple[FieldDeclaration, ...]:
    if not isinstance(tables, list) or not tables:
        raise DeclarationError(file, "fields", "declare at least one [[fields]] table")
    fields = tuple(
        _field(file, service, contract, index, table) for index, table in enumerate(tables)
    )
    coordinates: set[str] = set()
    for declared in fields:
        if declared.coordinate in coordinates:
            raise DeclarationError(
                file, f"{declared.where}.name", f"{declared.coordinate} is declared twice"
            )
        coordinates.add(declared.coordinate)
    return fields


def _server(contract: Contract) -> str | None:
    return contract.servers[0] if contract.servers else None


def _field(
    file: Path, service: str, contract: Contract, index: int, table: Any
) -> FieldDeclaration:
    where = f"fields[{index}]"
    if not isinstance(table, dict):
        raise DeclarationError(file, where, "must be a table ([[fields]])")
    _no_unknown_keys(file, f"{where}.", table, FIELD_KEYS)
    on = _string(file, table, "on", required=True, where=where)
    name = _string(file, table, "name", required=True, where=where)
    if not FIELD_NAME.match(name) or name.startswith("__"):
        raise DeclarationError(file, f"{where}.name", f"{name!r} is not a GraphQL field name")
    operation = _operation(file, where, contract, table)
    key = _string(file, table, "key", required=True, where=where)
    batch_param, param = _carriers(file, where, table, operation)
    items = _string(file, table, "items", where=where)
    match = _string(file, table, "match", required=True, where=where)
    many = _bool(file, table, "many", f"{where}.many")
    _check_response(file, where, contract, operation, items, match, single=param is not None)
    args = _args(file, where, table, operation, (batch_param, param))
    scope = _string(file, table, "scope", where=where)
    if scope is not None and not SCOPE.match(scope):
        raise DeclarationError(
            file, f"{where}.scope", f"{scope!r} is not a scope like 'forecast:read'"
        )
    cost = _whole(file, f"{where}.cost", table.get("cost"), least=0)
    concurrency = _whole(
        file, f"{where}.concurrency", table.get("concurrency", DEFAULT_CONCURRENCY), least=1
    )
    read = _bool(file, table, "read", f"{where}.read")
    return FieldDeclaration(
        service=service,
        index=index,
        on=on,
        name=name,
        operation=operation,
        key=key,
        match=match,
        batch_param=batch_param,
        param=param,
        items=items,
        many=many,
        args=tuple(args),
        scope=scope,
        cost=cost,
        description=_string(file, table, "description", where=where) or operation.summary,
        read=read,
        concurrency=concurrency,
    )


def _operation(file: Path, where: str, contract: Contract, table: Mapping[str, Any]) -> Operation:
    operation_id = _string(file, table, "operation", required=True, where=where)
    operation = contract.operations.get(operation_id)
    if operation is None:
        known = ", ".join(sorted(contract.operations)) or "none"
        raise DeclarationError(
            file,
            f"{where}.operation",
            f"{operation_id!r} is not an operationId of {contract.path.name} (it has: {known})",
        )
    if operation.method not in ("GET", "POST"):
        raise DeclarationError(
            file, f"{where}.operation", f"{operation_id} is a {operation.method}; reads are GET "
            "or POST",
        )  # fmt: skip
    return operation


def _carriers(
    file: Path, where: str, table: Mapping[str, Any], operation: Operation
) -> tuple[str | None, str | None]:
    """``(batch_param, param)``: exactly one is declared, and fits the operation."""
    batch_param = _string(file, table, "batch_param", where=where)
    param = _string(file, table, "param", where=where)
    if (batch_param is None) == (param is None):
        raise DeclarationError(
            file,
            where,
            "declare exactly one of batch_param (many keys per call) and param (one call per key)",
        )
    if batch_param is not None:
        _check_batch_param(file, where, operation, batch_param)
    if param is not None:
        _check_param(file, where, operation, param)
    return batch_param, param


def _args(
    file: Path,
    where: str,
    table: Mapping[str, Any],
    operation: Operation,
    carriers: tuple[str | None, str | None],
) -> list[str]:
    args = table.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise DeclarationError(file, f"{where}.args", "must be a list of parameter names")
    for arg in args:
        if arg in carriers:
            raise DeclarationError(file, f"{where}.args", f"{arg!r} carries the keys")
        if arg not in operation.parameters and arg not in operation.body_properties():
            raise DeclarationError(
                file,
                f"{where}.args",
                f"{arg!r} is neither a parameter nor a body property of {operation.operation_id}",
            )
    return args


def _whole(file: Path, shown: str, value: Any, *, least: int) -> Any:
    """``value`` when it is ``None`` or a whole number of at least ``least``."""
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or value < least
    ):
        raise DeclarationError(file, shown, f"must be a whole number, {least} or more")
    return value


def _check_batch_param(file: Path, where: str, operation: Operation, name: str) -> None:
    parameter = operation.parameters.get(name)
    if parameter is not None:
        if parameter.location != "query" or parameter.schema.get("type") != "array":
            raise DeclarationError(
                file, f"{where}.batch_param", f"{name!r} is not an array query parameter"
            )
        return
    schema = operation.body_properties().get(name)
    if schema is None:
        raise DeclarationError(
            file,
            f"{where}.batch_param",
            f"{name!r} is neither a query parameter nor a body property of "
            f"{operation.operation_id}",
        )
    if schema.get("type") != "array":
        raise DeclarationError(
            file, f"{where}.batch_param", f"body property {name!r} is not an array"
        )


def _check_param(file: Path, where: str, operation: Operation, name: str) -> None:
    parameter = operation.parameters.get(name)
    if parameter is None or parameter.location not in ("path", "query"):
        raise DeclarationError(
            file,
            f"{where}.param",
            f"{name!r} is not a path or query parameter of {operation.operation_id}",
        )
    for other in operation.parameters.values():
        if other.location == "path" and other.name != name:
            raise DeclarationError(
                file, f"{where}.param", f"path parameter {other.name!r} would have no value"
            )


def _check_response(
    file: Path,
    where: str,
    contract: Contract,
    operation: Operation,
    items: str | None,
    match: str,
    *,
    single: bool,
) -> None:
    """The response holds result objects with the ``match`` property."""
    if operation.response is None:
        raise DeclarationError(
            file, f"{where}.operation", f"{operation.operation_id} has no JSON 200 response schema"
        )
    _, schema = contract.deref(operation.response)
    if items is not None:
        properties = schema.get("properties") or {}
        if items not in properties:
            raise DeclarationError(
                file, f"{where}.items", f"the response of {operation.operation_id} has no "
                f"property {items!r} (it has: {', '.join(sorted(properties)) or 'none'})",
            )  # fmt: skip
        _, schema = contract.deref(properties[items])
    if schema.get("type") == "array":
        _, schema = contract.deref(schema.get("items") or {})
    elif not single:
        raise DeclarationError(
            file, f"{where}.items", "a batch response needs a list of results: name the "
            "property holding it",
        )  # fmt: skip
    properties = schema.get("properties") or {}
    if match not in properties:
        raise DeclarationError(
            file, f"{where}.match", f"the results of {operation.operation_id} have no property "
            f"{match!r} (they have: {', '.join(sorted(properties)) or 'none'})",
        )  # fmt: skip


def result_schema(contract: Contract, declared: FieldDeclaration) -> tuple[str | None, Schema]:
    """The component name and schema of one result item of ``declared``."""
    assert declared.operation.response is not None
    name, schema = contract.deref(declared.operation.response)
    if declared.items is not None:
        name, schema = contract.deref((schema.get("properties") or {})[declared.items])
    if schema.get("type") == "array":
        name, schema = contract.deref(schema.get("items") or {})
    return name, schema


def _no_unknown_keys(
    file: Path, prefix: str, table: Mapping[str, Any], known: Iterable[str]
) -> None:
    for key in table:
        if key not in known:
            raise DeclarationError(
                file, f"{prefix}{key}", f"unknown key (known: {', '.join(sorted(known))})"
            )


def _string(
    file: Path, table: Mapping[str, Any], key: str, *, required: bool = False, where: str = ""
) -> Any:
    shown = f"{where}.{key}" if where else key
    value = table.get(key)
    if value is None:
        if required:
            raise DeclarationError(file, shown, "missing")
        return None
    if not isinstance(value, str) or not value.strip():
        raise DeclarationError(file, shown, "must be a non-empty string")
    return value


def _number(
    file: Path, table: Mapping[str, Any], key: str, override: str | None, *, default: float
) -> float:
    value: Any = table.get(key, default)
    if override is not None:
        try:
            value = float(override)
        except ValueError:
            raise DeclarationError(
                file, key, f"the override {override!r} is not a number"
            ) from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DeclarationError(file, key, "must be a number of seconds")
    return float(value)


def _bool(file: Path, table: Mapping[str, Any], key: str, shown: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise DeclarationError(file, shown, "must be true or false")
    return value


__all__ = [
    "Declaration",
    "DeclarationError",
    "FieldDeclaration",
    "Schema",
    "load_declaration",
    "load_declarations",
    "result_schema",
]
