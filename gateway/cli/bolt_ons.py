"""``gateway bolt-ons``: list the declared bolt-ons, and start a declaration from a contract.

``gateway bolt-ons list`` shows every bolt-on of ``bolt_ons_dir`` (and the
built-in ones): its file, contract, base URL, credential variable (set or
not, never its value), fields and, unless ``--no-probe``, whether it answers
and accepts the credential (one direct call each, concurrently, short timeout).

``gateway bolt-ons new CONTRACT`` reads a partner's OpenAPI contract and
writes a starting declaration for the user to review: one ``[[fields]]``
table per read operation, its core type and key guessed by matching the
operation's parameters and the result's properties against the core
schema's key fields by name (``account_number`` -> ``Customer.accountNumber``),
batches found from array parameters (``maxItems`` noted). A table whose
guess is not unambiguous is written commented out, with what to decide.
"""

from __future__ import annotations

import asyncio
import filecmp
import json
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, NoReturn

import tomli_w
import typer
from rich.console import Console

from gateway.bolt_ons.contract import Contract, ContractError, Operation, Schema, load_contract
from gateway.bolt_ons.declaration import (
    FIELD_NAME,
    NAME,
    RESERVED_NAMES,
    Declaration,
    DeclarationError,
    load_declaration,
)
from gateway.cli.common import ConfigOption, console, settings_or_exit
from gateway.settings import Settings
from plugins import BUILT_IN
from plugins.base import BoltOnPlugin

app = typer.Typer(
    help="Declared bolt-ons: list them, or start a declaration from a partner's contract.",
    no_args_is_help=True,
)

#: Where declarations go when the settings name no folder.
DEFAULT_FOLDER = Path("bolt-ons")
#: Seconds ``list`` waits for each bolt-on's probe.
PROBE_TIMEOUT = 2.0
#: Leading words of an operationId that say how, not what (``batchGetForecasts``).
VERBS = frozenset(
    {"batch", "bulk", "multi", "get", "list", "search", "find", "fetch", "query", "lookup",
     "read", "retrieve", "load", "show", "describe", "all"}
)  # fmt: skip
#: Words of a contract title that say nothing of the service (``Demand Forecast API``).
TITLE_NOISE = frozenset({"api", "service", "services", "bolt", "on", "the", "v1", "v2", "v3"})


# --- names -------------------------------------------------------------------


def camel(name: str) -> str:
    """``account_number`` -> ``accountNumber`` (GraphQL names of contract properties)."""
    head, *rest = re.split(r"[_\-\s]+", name.strip("_- ")) or [""]
    return head[:1].lower() + head[1:] + "".join(word[:1].upper() + word[1:] for word in rest)


def snake(name: str) -> str:
    """``accountNumber`` -> ``account_number``."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).replace("-", "_").lower()


def singular(word: str) -> str:
    """``account_numbers`` -> ``account_number``; ``categories`` -> ``category``."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 2:
        return word[:-1]
    return word


def _words(identifier: str) -> list[str]:
    return re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+", identifier)


def service_name(contract: Contract) -> str | None:
    """A service name for the contract: its file's stem, else its title, as ``a_z0_9``."""
    stem = contract.path.name.split(".")[0]
    title_words = [w for w in re.split(r"[^a-z0-9]+", contract.title.lower()) if w]
    candidates = [
        snake(stem).strip("_"),
        "_".join(w for w in title_words if w not in TITLE_NOISE),
        "_".join(title_words),
    ]
    for candidate in candidates:
        candidate = re.sub(r"_+", "_", candidate)[:40].strip("_")
        if NAME.match(candidate) and candidate not in RESERVED_NAMES:
            return candidate
    return None


def _comment(text: str | None) -> str:
    return " ".join((text or "").split())


def _toml(value: Any) -> str:
    """``value`` as an inline TOML value (tomli-w's escaping of strings)."""
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return tomli_w.dumps({"v": value}).strip()[len("v = ") :]


def _relative(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path.resolve(), start.resolve())).as_posix()


# --- the core's key fields -----------------------------------------------------


def core_key_fields() -> dict[str, list[str]]:
    """The core's candidate key fields: GraphQL field name -> the core types having it.

    Read from the built schema: the ``Node`` types (Product, Customer,
    Order, Warehouse...) and their ``String``/``ID`` fields other than ``id``
    (the global id no partner knows).
    """
    from graphql import GraphQLObjectType, GraphQLScalarType, get_named_type, is_list_type
    from graphql.type.definition import get_nullable_type

    from schema import build_schema

    graphql_schema = build_schema()._schema
    found: dict[str, list[str]] = {}
    for type_name, graphql_type in sorted(graphql_schema.type_map.items()):
        if not isinstance(graphql_type, GraphQLObjectType) or type_name.startswith("__"):
            continue
        if "Node" not in {interface.name for interface in graphql_type.interfaces}:
            continue
        for field_name, graphql_field in graphql_type.fields.items():
            named = get_named_type(graphql_field.type)
            if (
                field_name == "id"
                or is_list_type(get_nullable_type(graphql_field.type))
                or not isinstance(named, GraphQLScalarType)
                or named.name not in ("String", "ID")
            ):
                continue
            found.setdefault(field_name, []).append(type_name)
    return found


def core_field_names() -> dict[str, set[str]]:
    """Every field of every object type of the core schema, by type (for name clashes)."""
    from graphql import GraphQLObjectType

    from schema import build_schema

    return {
        name: set(graphql_type.fields)
        for name, graphql_type in build_schema()._schema.type_map.items()
        if isinstance(graphql_type, GraphQLObjectType)
    }


# --- proposing fields ----------------------------------------------------------


@dataclass
class Proposal:
    """One ``[[fields]]`` table proposed for an operation; ``todo`` non-empty: commented out."""

    operation: Operation
    values: dict[str, Any] = field(default_factory=dict)
    #: Comments beside a key's line.
    notes: dict[str, str] = field(default_factory=dict)
    #: Commented-out suggestions after the keys (``args``, ``scope``, ``cost``).
    extras: list[tuple[str, str]] = field(default_factory=list)
    todo: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.todo


@dataclass(frozen=True, slots=True)
class _Carrier:
    """A parameter or body property that could carry the keys."""

    name: str
    where: str  # "query", "path" or "body"
    batch: bool
    limit: int | None = None


def _is_scalar(contract: Contract, schema: Schema) -> bool:
    return contract.deref(schema)[1].get("type") in ("string", "integer")


def _carriers(contract: Contract, operation: Operation) -> list[_Carrier]:
    """Batch carriers first (array query parameters, array body properties), then single."""
    batch: list[_Carrier] = []
    single: list[_Carrier] = []
    for parameter in operation.parameters.values():
        schema = contract.deref(parameter.schema)[1]
        if parameter.location == "query" and schema.get("type") == "array":
            if _is_scalar(contract, schema.get("items") or {}):
                batch.append(_Carrier(parameter.name, "query", True, schema.get("maxItems")))
        elif parameter.location in ("path", "query") and _is_scalar(contract, schema):
            single.append(_Carrier(parameter.name, parameter.location, False))
    for name, raw in operation.body_properties().items():
        schema = contract.deref(raw)[1]
        if schema.get("type") == "array" and _is_scalar(contract, schema.get("items") or {}):
            batch.append(_Carrier(name, "body", True, schema.get("maxItems")))
    single.sort(key=lambda c: c.where != "path")  # a path parameter is the surer key
    return batch + single


def _object_properties(contract: Contract, schema: Schema) -> Mapping[str, Schema]:
    return contract.deref(schema)[1].get("properties") or {}


def _result_shapes(
    contract: Contract, operation: Operation, *, batch: bool
) -> list[tuple[str | None, bool, Mapping[str, Schema]]]:
    """``(items, many-per-key, result item properties)`` the response could hold results as."""
    assert operation.response is not None
    _, response = contract.deref(operation.response)
    shapes: list[tuple[str | None, bool, Mapping[str, Schema]]] = []
    if response.get("type") == "array":
        return [(None, not batch, _object_properties(contract, response.get("items") or {}))]
    properties = response.get("properties") or {}
    if not batch and properties:
        shapes.append((None, False, properties))
    for name, raw in properties.items():
        _, schema = contract.deref(raw)
        if schema.get("type") == "array":
            item = _object_properties(contract, schema.get("items") or {})
            if item:
                shapes.append((name, not batch, item))
    return shapes


def _looks_like_a_read(contract: Contract, operation: Operation) -> bool:
    """A GET, a POST the contract marks as a read, or a POST whose body takes an array of keys."""
    if operation.method == "GET" or operation.marked_read:
        return True
    return operation.method == "POST" and any(
        carrier.where == "body" for carrier in _carriers(contract, operation)
    )


def _field_name(operation: Operation, *, batch: bool, many: bool) -> str:
    """``batchGetForecasts`` -> ``forecast``, ``listWarrantyPlans`` -> ``warrantyPlans``."""
    words = _words(operation.operation_id)
    while len(words) > 1 and words[0].lower() in VERBS:
        words = words[1:]
    if "By" in words[1:]:
        words = words[: words.index("By", 1)]
    if words and batch and not many:
        words[-1] = singular(words[-1])  # the batch is plural, one key's result is not
    name = camel("_".join(words)) if words else operation.operation_id
    return name if FIELD_NAME.match(name) else "result"


def propose_fields(
    contract: Contract,
    service: str,
    key_fields: Mapping[str, Sequence[str]],
    taken: Mapping[str, set[str]],
) -> tuple[list[Proposal], list[str]]:
    """A proposal per read operation with result objects, and why other operations got none.

    Args:
        key_fields: the core's key fields, ``core_key_fields()``.
        taken: the core schema's field names by type, ``core_field_names()``.
    """
    proposals: list[Proposal] = []
    skipped: list[str] = []
    names: dict[str, set[str]] = {t: set(fields) for t, fields in taken.items()}
    for operation in contract.operations.values():
        if not _looks_like_a_read(contract, operation):
            skipped.append(f"{operation.operation_id} ({operation.method}: not a read)")
            continue
        if operation.response is None:
            skipped.append(f"{operation.operation_id} (no JSON 200 response)")
            continue
        proposal = _propose(contract, operation, key_fields)
        if proposal is None:
            skipped.append(f"{operation.operation_id} (no result objects in its response)")
            continue
        on = proposal.values.get("on")
        if isinstance(on, str) and on in names:
            base = str(proposal.values["name"])
            candidate = base
            if candidate in names[on]:
                candidate = camel(service) + base[:1].upper() + base[1:]
            number = 2
            while candidate in names[on]:
                candidate, number = f"{base}{number}", number + 1
            proposal.values["name"] = candidate
            names[on].add(candidate)
        proposals.append(proposal)
    return proposals, skipped


def _propose(
    contract: Contract, operation: Operation, key_fields: Mapping[str, Sequence[str]]
) -> Proposal | None:
    carriers = _carriers(contract, operation)
    shapes_batch = _result_shapes(contract, operation, batch=True)
    shapes_single = _result_shapes(contract, operation, batch=False)
    if not shapes_batch and not shapes_single:
        return None
    proposal = Proposal(operation)
    values = proposal.values
    values["on"] = "TODO"
    values["name"] = _field_name(operation, batch=False, many=False)
    values["operation"] = operation.operation_id
    values["key"] = "TODO"
    carrier, spelled = _propose_key(proposal, carriers, key_fields)
    if carrier is not None and carrier.batch:
        values["batch_param"] = carrier.name
        where = "query parameter" if carrier.where == "query" else "request-body property"
        limit = f", maxItems {carrier.limit}" if carrier.limit is not None else ", no maxItems"
        proposal.notes["batch_param"] = f"array {where}{limit}"
        shapes = shapes_batch
    elif carrier is not None:
        values["param"] = carrier.name
        proposal.notes["param"] = f"{carrier.where} parameter: one call per key"
        shapes = shapes_single
    else:
        values["param"] = "TODO"
        shapes = shapes_single or shapes_batch
    match_names = [spelled, carrier.name if carrier else spelled, snake(str(values["key"]))]
    many = _propose_match(proposal, shapes, match_names)
    values["name"] = _field_name(operation, batch="batch_param" in values, many=many)
    if many:
        values["many"] = True
        proposal.notes["many"] = "a list: every result of the key"
    if operation.method == "POST" and not operation.marked_read:
        values["read"] = True
        proposal.notes["read"] = "a read sent as a POST: cached and retried like a GET; check it"
    _propose_args(proposal, contract, operation)
    return proposal


def _propose_key(
    proposal: Proposal, carriers: Sequence[_Carrier], key_fields: Mapping[str, Sequence[str]]
) -> tuple[_Carrier | None, str]:
    """Sets ``on``/``key`` from the first carrier named like exactly one core field; the
    carrier of the keys and the key's spelling in the contract."""
    chosen: tuple[_Carrier, str, str, str] | None = None  # carrier, key name, type, field
    ambiguous: list[str] = []
    for candidate in carriers:
        for spelled in dict.fromkeys([candidate.name, singular(candidate.name)]):
            types = key_fields.get(camel(spelled), ())
            if len(types) == 1:
                chosen = (candidate, spelled, types[0], camel(spelled))
                break
            if len(types) > 1:
                ambiguous.append(f"{candidate.name} could be " + " or ".join(
                    f"{t}.{camel(spelled)}" for t in types))  # fmt: skip
        if chosen is not None:
            break
    if chosen is not None:
        carrier, spelled, on, key = chosen
        proposal.values["on"] = on
        proposal.values["key"] = key
        proposal.notes["key"] = f"{on}.{key}"
        return carrier, spelled
    if ambiguous:
        proposal.todo.append("choose the key: " + "; ".join(ambiguous))
    elif carriers:
        shown = ", ".join(c.name for c in carriers)
        core = ", ".join(f"{t}.{f}" for f, types in sorted(key_fields.items()) for t in types)
        proposal.todo.append(
            f"no core field is named like {shown}: choose the core type and key field ({core})"
        )
    else:
        proposal.todo.append("no path, query or body array parameter can carry a key")
    first = carriers[0] if carriers else None
    return first, singular(first.name) if first is not None else "TODO"


def _propose_match(
    proposal: Proposal,
    shapes: Sequence[tuple[str | None, bool, Mapping[str, Any]]],
    match_names: Sequence[str],
) -> bool:
    """Sets ``items``/``match`` from the first result shape holding a key-like property;
    whether the results are a list per key (``many``)."""
    values = proposal.values
    for items, many, properties in shapes:
        for name in dict.fromkeys(match_names):
            if name in properties:
                if items is not None:
                    values["items"] = items
                    proposal.notes["items"] = "the response property holding the results"
                values["match"] = name
                proposal.notes["match"] = "the result property equal to the key"
                return many
    items, many, properties = shapes[0] if shapes else (None, False, {})
    if items is not None:
        values["items"] = items
    values["match"] = "TODO"
    proposal.todo.append(
        "choose match: the result property equal to the key (the results have: "
        f"{', '.join(sorted(properties)) or 'none'})"
    )
    return many


def _propose_args(proposal: Proposal, contract: Contract, operation: Operation) -> None:
    """A commented ``args`` line listing the parameters that do not carry the keys."""
    values = proposal.values
    carried = {values.get("batch_param"), values.get("param")}
    others = [p for p in operation.parameters.values() if p.name not in carried]
    described = [f"{p.name} ({_described(contract, p.schema)})" for p in others]
    other_names = [p.name for p in others]
    for name, schema in operation.body_properties().items():
        if name not in carried:
            other_names.append(name)
            described.append(f"{name} ({_described(contract, schema)})")
    if other_names:
        proposal.extras.append(
            (f"args = {_toml(other_names)}", "field arguments, of: " + ", ".join(described))
        )


def _described(contract: Contract, schema: Schema) -> str:
    _, schema = contract.deref(schema)
    kind = str(schema.get("type", "any"))
    if "default" in schema:
        kind += f", default {json.dumps(schema['default'])}"
    return kind


def render_declaration(
    contract: Contract,
    *,
    name: str,
    contract_ref: str,
    proposals: Sequence[Proposal],
    skipped: Sequence[str],
) -> str:
    """The text of a starting declaration (TOML with comments)."""
    lines = [
        f"# Declared bolt-on {name!r}: {_comment(contract.title)}.",
        f"# Written by `gateway bolt-ons new` from {contract.path.name}: review every",
        "# [[fields]] table (and complete the commented-out ones), then restart the gateway.",
        "# `gateway bolt-ons list` and `gateway check` show whether it is connected.",
        "# Format: docs/bolt-ons.md.",
    ]
    lines += _aligned(_top_rows(contract, name, contract_ref))
    if skipped:
        lines += ["", "# Operations without a table: " + "; ".join(skipped) + "."]
    for proposal in proposals:
        lines += _field_lines(proposal, name)
    return "\n".join(lines) + "\n"


def _top_rows(contract: Contract, name: str, contract_ref: str) -> list[tuple[str, str]]:
    """The declaration's top-level keys, each with its comment."""
    top: list[tuple[str, str]] = [
        (f"name = {_toml(name)}", "service name: errors' extensions.service, metrics"),
        (f"contract = {_toml(contract_ref)}", "relative to this file"),
    ]
    variable = f"GATEWAY_BOLT_ON_{name.upper()}_URL"
    if contract.servers:
        top.append(
            (f"base_url = {_toml(contract.servers[0])}", f"contract's server; {variable} overrides")
        )
    else:
        top.append(
            ('# base_url = "https://..."', f"TODO: the contract names no server; {variable}")
        )
    auth = contract.auth
    if auth.kind == "bearer":
        top.append(
            (f"secret_env = {_toml(name.upper() + '_TOKEN')}", "holds the HTTP bearer token")
        )
    elif auth.kind == "header":
        top.append(
            (
                f"secret_env = {_toml(name.upper() + '_API_KEY')}",
                f"holds the API key, sent in the {auth.header} header",
            )
        )
    return [
        *top,
        ("# timeout = 2.0", "seconds, the whole call with retries"),
        ("# cache_ttl = 0", "seconds a result is cached; 0 = not cached"),
        ("# stale_on_error = false", "serve an expired cached result when the bolt-on fails"),
    ]


def _field_lines(proposal: Proposal, name: str) -> list[str]:
    """One proposed ``[[fields]]`` table (commented out while it has TODOs)."""
    operation = proposal.operation
    title = f"# {operation.method} {operation.path}"
    if operation.summary:
        title += f": {_comment(operation.summary)}"
    lines = ["", title]
    body: list[tuple[str, str]] = [("[[fields]]", "")]
    for key, value in proposal.values.items():
        body.append((f"{key} = {_toml(value)}", proposal.notes.get(key, "")))
    for line, note in proposal.extras:
        body.append((f"# {line}", note))
    scope = f"{name}:read" if re.match(r"^[a-z][a-z0-9_.-]*$", name) else "partner:read"
    body.append((f"# scope = {_toml(scope)}", "a scope clients need to read the field"))
    body.append(("# cost = 1", "the field's weight in the query cost"))
    if proposal.complete:
        return lines + _aligned(body)
    lines.append("# Not enabled yet (commented out): complete it, then uncomment it.")
    lines += [f"# TODO: {_comment(todo)}." for todo in proposal.todo]
    return lines + [f"# {line}" if not line.startswith("#") else line for line in _aligned(body)]


def _aligned(rows: Sequence[tuple[str, str]]) -> list[str]:
    width = min(max((len(line) for line, note in rows if note), default=0), 44)
    return [f"{line.ljust(width)}  # {_comment(note)}" if note else line for line, note in rows]


# --- commands ------------------------------------------------------------------


def _folder(settings: Settings) -> Path:
    return settings.bolt_ons_dir if settings.bolt_ons_dir is not None else DEFAULT_FOLDER


def _fail(message: str, code: int = 2) -> NoReturn:
    console.print(message, style="red", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@app.command("new")
def new(
    contract_file: Annotated[
        Path, typer.Argument(metavar="CONTRACT", help="The partner's OpenAPI 3 contract file.")
    ],
    config: ConfigOption = None,
    name: Annotated[
        str | None,
        typer.Option(help="Service name (a-z, 0-9, _); default: the contract file's name."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Declaration file to write ('-': standard output); "
            "default: <bolt_ons_dir>/<name>.toml."
        ),
    ] = None,
    copy: Annotated[
        bool,
        typer.Option(
            help="Copy the contract beside the declaration when it is elsewhere "
            "(else the declaration refers to it where it is)."
        ),
    ] = True,
    force: Annotated[bool, typer.Option(help="Overwrite existing files.")] = False,
) -> None:
    """Write a starting declaration for a partner's OpenAPI contract, to review and edit."""
    settings = settings_or_exit(config)
    try:
        contract = load_contract(contract_file)
    except ContractError as exc:
        _fail(str(exc))
    name = _service_name_or_exit(contract, contract_file, name)
    proposals, skipped = propose_fields(contract, name, core_key_fields(), core_field_names())
    if out is not None and str(out) == "-":
        contract_ref = _relative(contract_file, Path.cwd())
        typer.echo(
            render_declaration(
                contract, name=name, contract_ref=contract_ref, proposals=proposals, skipped=skipped
            ),
            nl=False,
        )
        return
    target = out if out is not None else _folder(settings) / f"{name}.toml"
    if target.exists() and not force:
        _fail(f"{target} exists: use --force to overwrite it, or --out FILE", 1)
    contract_path, copied = _contract_destination(contract_file, target.parent, copy, force)
    text = render_declaration(
        contract,
        name=name,
        contract_ref=_relative(contract_path, target.parent),
        proposals=proposals,
        skipped=skipped,
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    if copied is not None:
        shutil.copyfile(contract_file, copied)
        console.print(f"copied the contract to {copied}", markup=False, highlight=False)
    target.write_text(text, encoding="utf-8")
    _say_next(settings, target, proposals)


def _service_name_or_exit(contract: Contract, contract_file: Path, name: str | None) -> str:
    if name is None:
        guessed = service_name(contract)
        if guessed is None:
            _fail(f"{contract_file}: no service name in the file name or title: give --name")
        return guessed
    if not NAME.match(name) or name in RESERVED_NAMES:
        problem = "is a built-in service" if name in RESERVED_NAMES else (
            "must be lower case letters, digits and _ (a-z first)")  # fmt: skip
        _fail(f"--name: {name!r} {problem}")
    return name


def _contract_destination(
    contract_file: Path, folder: Path, copy: bool, force: bool
) -> tuple[Path, Path | None]:
    """Where the declaration refers to the contract, and where to copy it (``None``: no copy)."""
    if not copy or contract_file.resolve().parent == folder.resolve():
        return contract_file, None
    destination = folder / contract_file.name
    same = destination.exists() and filecmp.cmp(destination, contract_file, shallow=False)
    if destination.exists() and not same and not force:
        _fail(
            f"{destination} exists and differs from {contract_file}: use --force to "
            "overwrite it, or --no-copy to refer to the contract where it is",
            1,
        )
    return destination, None if same else destination


def _say_next(settings: Settings, target: Path, proposals: Sequence[Proposal]) -> None:
    """What was written, whether it loads as it is, and what to do next."""
    from gateway.app import create_schema

    complete = [p for p in proposals if p.complete]
    todo = [p.operation.operation_id for p in proposals if not p.complete]
    summary = f"wrote {target}: {len(complete)} field(s) proposed"
    if todo:
        summary += f", {len(todo)} to complete ({', '.join(todo)})"
    console.print(summary, markup=False, highlight=False, soft_wrap=True)

    try:
        declaration = load_declaration(target)
        create_schema(settings, (declaration,))
    except DeclarationError as exc:
        console.print(f"not loadable yet: {exc}", markup=False, highlight=False, soft_wrap=True)
        return
    steps = "review it"
    if declaration.secret_env:
        steps += f", set {declaration.secret_env}"
    if _folder(settings).resolve() != target.parent.resolve():
        steps += f", move it into {_folder(settings)}/ (GATEWAY_BOLT_ONS_DIR)"
    console.print(
        f"next: {steps}, restart the gateway; `gateway bolt-ons list` and `gateway check` "
        "show whether it answers",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


@app.command("list")
def list_bolt_ons(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
    probe: Annotated[
        bool, typer.Option(help="Call each declared bolt-on once: reachable? credential accepted?")
    ] = True,
    timeout: Annotated[float, typer.Option(help="Seconds each probe may take.")] = PROBE_TIMEOUT,
) -> None:
    """List the bolt-ons: the declared ones of bolt_ons_dir (fields, status) and the built-ins."""
    from gateway.cli.check import checked_declarations

    settings = settings_or_exit(config)
    folder = _folder(settings)
    try:
        declarations = checked_declarations(settings.model_copy(update={"bolt_ons_dir": folder}))
    except DeclarationError as exc:
        _fail(str(exc))
    statuses: dict[str, str] = {}
    if probe and declarations:
        statuses = asyncio.run(_probe_all(declarations, timeout))
    entries = [_declared_entry(d, statuses.get(d.name, "declared")) for d in declarations]
    entries += [_built_in_entry(settings, plugin) for plugin in BUILT_IN]
    if as_json:
        typer.echo(json.dumps({"folder": str(folder), "bolt_ons": entries}, indent=2))
        return
    out = Console(soft_wrap=True, highlight=False)
    if not declarations:
        console.print(_none_declared(folder), markup=False, highlight=False, soft_wrap=True)
    width = max(len(entry["name"]) for entry in entries)
    for entry in entries:
        _print_entry(out, entry, width)


def _none_declared(folder: Path) -> str:
    state = "does not exist" if not folder.is_dir() else "holds no *.toml declaration"
    return (
        f"no declared bolt-ons: {folder}/ (GATEWAY_BOLT_ONS_DIR) {state}. To connect one, put "
        f"its declaration and OpenAPI contract there, e.g. `cp examples/bolt-ons/forecast.* "
        f"{folder}/`, or start one with `gateway bolt-ons new CONTRACT`."
    )


async def _probe_all(declarations: Sequence[Declaration], seconds: float) -> dict[str, str]:
    from gateway.cli.check import probe_declared

    async def one(declaration: Declaration) -> tuple[str, str]:
        try:
            outcome = await asyncio.wait_for(probe_declared(declaration, seconds), seconds + 0.5)
        except TimeoutError:
            return declaration.name, "down (no answer in time)"
        return declaration.name, outcome.summary

    return dict(await asyncio.gather(*(one(d) for d in declarations)))


def _declared_entry(declaration: Declaration, status: str) -> dict[str, Any]:
    from gateway.cli.check import safe_http_url

    return {
        "name": declaration.name,
        "kind": "declared",
        "status": status,
        "file": str(declaration.file),
        "contract": {
            "file": str(_display_path(declaration.contract.path)),
            "title": declaration.contract.title,
        },
        "base_url": safe_http_url(declaration.base_url),
        "auth": declaration.contract.auth.kind,
        "auth_header": (
            declaration.contract.auth.header if declaration.contract.auth.kind == "header" else None
        ),
        "secret_env": declaration.secret_env,
        "secret_set": bool(declaration.secret) if declaration.secret_env else None,
        "fields": [
            {
                "field": f.coordinate,
                "operation": f.operation.operation_id,
                "key": f.key,
                "batch_param": f.batch_param,
                "batch_size": f.batch_limit,
                "param": f.param,
                "one_call_per_key": f.param is not None,
                "many": f.many,
                "args": list(f.args),
                "scope": f.scope,
                "cost": f.cost,
            }
            for f in declaration.fields
        ],
    }


def _display_path(path: Path) -> Path:
    try:
        return path.relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def _built_in_entry(settings: Settings, plugin: BoltOnPlugin) -> dict[str, Any]:
    from gateway.cli.check import safe_http_url

    return {
        "name": plugin.name,
        "kind": "built-in",
        "status": "built-in",
        "contract": plugin.contract,
        "base_url": safe_http_url(plugin.url(settings)),
        "secret_setting": plugin.credential_variable,
        "secret_set": plugin.secret(settings) is not None,
        "fields": sorted(f"{on}.{name}" for on, name in plugin.costly_fields),
    }


def _print_entry(out: Console, entry: Mapping[str, Any], width: int) -> None:
    name = str(entry["name"]).ljust(width)
    if entry["kind"] == "built-in":
        state = "set" if entry["secret_set"] else "not set"
        out.print(
            f"{name}  built-in  {entry['base_url']}, {entry['secret_setting']} {state} "
            f"(`gateway check` probes it); fields {', '.join(entry['fields'])}",
            markup=False,
        )
        return
    out.print(f"{name}  {entry['status']}  {entry['file']}", markup=False)
    contract = entry["contract"]
    out.print(f"  contract  {contract['title']} ({contract['file']})", markup=False)
    out.print(f"  base URL  {entry['base_url']}", markup=False)
    auth = entry["auth"] if entry["auth"] != "header" else f"API key in {entry['auth_header']}"
    if entry["secret_env"]:
        auth += f", {entry['secret_env']} {'set' if entry['secret_set'] else 'NOT SET'}"
    out.print(f"  auth      {auth}", markup=False)
    for index, declared in enumerate(entry["fields"]):
        if declared["param"] is not None:
            calls = "one call per key"
        elif declared["batch_size"] is not None:
            calls = f"batches of {declared['batch_size']}"
        else:
            calls = "batched"
        details = [f"key {declared['key']}", calls]
        if declared["many"]:
            details.append("list")
        if declared["scope"]:
            details.append(f"scope {declared['scope']}")
        if declared["cost"] is not None:
            details.append(f"cost {declared['cost']}")
        label = "fields   " if index == 0 else "         "
        out.print(
            f"  {label} {declared['field']} -> {declared['operation']} ({', '.join(details)})",
            markup=False,
        )


__all__ = [
    "Proposal",
    "app",
    "camel",
    "core_field_names",
    "core_key_fields",
    "propose_fields",
    "render_declaration",
    "service_name",
    "singular",
    "snake",
]
