"""A partner's OpenAPI 3.0 contract, read for what a declared bolt-on needs.

Only the parts the gateway uses are read: each operation's method, path,
parameters, request body and 200 response schema, the component schemas
(named types), and the security scheme (HTTP bearer, or an API key in a
header). ``$ref``s stay as they are in the stored schemas so that the type
generator can name a type after its component; ``Contract.deref`` follows
one.

Example:
    >>> contract = load_contract(Path("bolt-ons/forecast.openapi.yaml"))
    >>> contract.operations["batchGetForecasts"].batch_limit("sku")
    50
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

#: HTTP methods an OpenAPI path item may hold operations under.
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")

Schema = Mapping[str, Any]
Location = Literal["query", "path", "header"]


class ContractError(ValueError):
    """A contract the gateway cannot use: names the file and what is wrong."""


@dataclass(frozen=True, slots=True)
class Parameter:
    """One query, path or header parameter of an operation."""

    name: str
    location: Location
    schema: Schema
    required: bool = False
    description: str | None = None

    @property
    def default(self) -> Any:
        return self.schema.get("default")


@dataclass(frozen=True, slots=True)
class Auth:
    """How a call authenticates: ``bearer`` (Authorization header), ``header`` (an API
    key in ``header``), or ``none``."""

    kind: Literal["bearer", "header", "none"]
    header: str = "Authorization"

    def headers(self, secret: str | None) -> dict[str, str]:
        """The headers carrying ``secret`` (none without a secret)."""
        if not secret or self.kind == "none":
            return {}
        if self.kind == "bearer":
            return {"Authorization": f"Bearer {secret}"}
        return {self.header: secret}


@dataclass(frozen=True, slots=True)
class Operation:
    """One contract operation, its schemas as written (``$ref``s kept)."""

    operation_id: str
    method: str
    path: str
    parameters: Mapping[str, Parameter]
    #: The JSON request body's object schema (``$ref`` followed), if it has one.
    body: Schema | None
    #: The 200 (or first 2xx) JSON response schema, if it has one.
    response: Schema | None
    summary: str | None = None
    #: ``x-read: true`` on the operation: a POST that only reads (cached, retried).
    marked_read: bool = False

    @property
    def reads(self) -> bool:
        """A GET, or a POST the contract marks as a read."""
        return self.method == "GET" or self.marked_read

    def body_properties(self) -> Mapping[str, Schema]:
        return (self.body or {}).get("properties") or {}

    def batch_limit(self, name: str) -> int | None:
        """``maxItems`` of the array parameter or body property ``name`` (None: no limit)."""
        parameter = self.parameters.get(name)
        schema = parameter.schema if parameter is not None else self.body_properties().get(name)
        if schema is None:
            return None
        limit = schema.get("maxItems")
        return int(limit) if isinstance(limit, int) else None


@dataclass(frozen=True)
class Contract:
    """The operations, component schemas and authentication of one contract file."""

    path: Path
    title: str
    operations: Mapping[str, Operation]
    schemas: Mapping[str, Schema]
    auth: Auth
    servers: tuple[str, ...] = field(default=())

    def deref(self, schema: Schema) -> tuple[str | None, Schema]:
        """``(component name, schema)`` of a ``$ref`` (followed to its end), else
        ``(None, schema)``."""
        name: str | None = None
        seen: set[str] = set()
        while "$ref" in schema:
            ref = str(schema["$ref"])
            if ref in seen:
                raise ContractError(f"{self.path}: {ref} refers to itself")
            seen.add(ref)
            name = ref.rsplit("/", 1)[-1]
            schema = self._component(ref)
        return name, schema

    def _component(self, ref: str) -> Schema:
        prefix = "#/components/schemas/"
        if not ref.startswith(prefix) or ref[len(prefix) :] not in self.schemas:
            raise ContractError(f"{self.path}: $ref {ref!r} is not a component schema")
        return self.schemas[ref[len(prefix) :]]


def load_contract(path: Path) -> Contract:
    """Read ``path`` (YAML or JSON, OpenAPI 3.0.x or 3.1).

    Raises:
        ContractError: the file is missing, unreadable, or not an OpenAPI 3 contract.
    """
    import yaml  # here: only a gateway with declared bolt-ons reads a contract

    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ContractError(f"{path}: cannot read the contract ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ContractError(f"{path}: not valid YAML or JSON ({_first_line(exc)})") from None
    if not isinstance(document, dict) or not str(document.get("openapi", "")).startswith("3."):
        raise ContractError(f"{path}: not an OpenAPI 3 contract (no 'openapi: 3.x' entry)")
    components = document.get("components") or {}
    schemas = dict(components.get("schemas") or {})
    parameters_index = dict(components.get("parameters") or {})
    bodies_index = dict(components.get("requestBodies") or {})
    contract = Contract(
        path=path,
        title=str((document.get("info") or {}).get("title", path.stem)),
        operations={},
        schemas=schemas,
        auth=_auth(path, document, components),
        servers=tuple(str(s.get("url")) for s in document.get("servers") or () if "url" in s),
    )
    operations: dict[str, Operation] = {}
    for route, item in (document.get("paths") or {}).items():
        shared = list((item or {}).get("parameters") or ())
        for method in METHODS:
            spec = (item or {}).get(method)
            if not isinstance(spec, dict) or "operationId" not in spec:
                continue
            raw_parameters = shared + list(spec.get("parameters") or ())
            operation = Operation(
                operation_id=str(spec["operationId"]),
                method=method.upper(),
                path=str(route),
                parameters=_parameters(path, raw_parameters, parameters_index),
                body=_body(contract, spec.get("requestBody"), bodies_index),
                response=_response(spec.get("responses") or {}),
                summary=spec.get("summary"),
                marked_read=bool(spec.get("x-read", False)),
            )
            operations[operation.operation_id] = operation
    object.__setattr__(contract, "operations", operations)
    return contract


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _auth(path: Path, document: Mapping[str, Any], components: Mapping[str, Any]) -> Auth:
    """The scheme the contract's top-level ``security`` names (else its only scheme)."""
    schemes: Mapping[str, Any] = components.get("securitySchemes") or {}
    required = [name for entry in document.get("security") or () for name in entry]
    names = required or list(schemes)
    if not names:
        return Auth("none")
    name = names[0]
    scheme = schemes.get(name)
    if not isinstance(scheme, dict):
        raise ContractError(f"{path}: security names {name!r}, which securitySchemes lacks")
    kind = scheme.get("type")
    if kind == "http" and str(scheme.get("scheme", "")).lower() == "bearer":
        return Auth("bearer")
    if kind == "apiKey" and scheme.get("in") == "header" and scheme.get("name"):
        return Auth("header", str(scheme["name"]))
    raise ContractError(
        f"{path}: security scheme {name!r} is not supported "
        "(HTTP bearer or an API key in a header are)"
    )


def _parameters(path: Path, raw: list[Any], index: Mapping[str, Any]) -> dict[str, Parameter]:
    found: dict[str, Parameter] = {}
    for entry in raw:
        if isinstance(entry, dict) and "$ref" in entry:
            entry = index.get(str(entry["$ref"]).rsplit("/", 1)[-1])
        if not isinstance(entry, dict) or "name" not in entry:
            raise ContractError(f"{path}: a parameter without a name")
        location = entry.get("in")
        if location not in ("query", "path", "header"):
            continue  # cookies: never sent by the gateway
        found[str(entry["name"])] = Parameter(
            name=str(entry["name"]),
            location=location,
            schema=entry.get("schema") or {},
            required=bool(entry.get("required", location == "path")),
            description=entry.get("description"),
        )
    return found


def _body(contract: Contract, raw: Any, index: Mapping[str, Any]) -> Schema | None:
    if isinstance(raw, dict) and "$ref" in raw:
        raw = index.get(str(raw["$ref"]).rsplit("/", 1)[-1])
    if not isinstance(raw, dict):
        return None
    media = (raw.get("content") or {}).get("application/json") or {}
    schema = media.get("schema")
    if not isinstance(schema, dict):
        return None
    return contract.deref(schema)[1]


def _response(responses: Mapping[Any, Any]) -> Schema | None:
    for status in sorted(responses, key=str):
        if not str(status).startswith("2"):
            continue
        content = (responses[status] or {}).get("content") or {}
        for media, spec in content.items():
            if "json" in str(media) and isinstance(spec, dict) and "schema" in spec:
                schema: Schema = spec["schema"]
                return schema
    return None


__all__ = ["Auth", "Contract", "ContractError", "Operation", "Parameter", "load_contract"]
