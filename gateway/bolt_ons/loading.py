"""How a declared field is read in a request: resolver -> DataLoader -> cache -> adapter.

Each declared field (with one set of argument values) gets one DataLoader per
request, so each relation level is one batch per field: the adapter splits
it at the contract's ``maxItems`` (or runs one call per key under its bound).
Reads go through the process's ``BoltOnCache`` when the field reads (a GET,
or a POST marked or declared a read) and its bolt-on is cached; the cache
key holds the service, operation, field, credential hash, argument values
and key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any

import orjson
from graphql import GraphQLResolveInfo

from adapters import reads
from gateway.bolt_ons.adapter import DeclaredAdapter
from gateway.bolt_ons.declaration import Declaration, FieldDeclaration
from gateway.caching.bolt_on import BoltOnCache, Operation, StaleSink


def cache_operation(field: FieldDeclaration) -> Operation[Any]:
    """The cache's name of a declared field's reads (its JSON answers are stored as they are).

    The field is part of it: two fields of one operation may match on different keys.
    """
    return Operation(field.service, f"{field.operation.operation_id}:{field.coordinate}", dict)


#: The business key of the core types a committed write reports as changed
#: (``gateway.writes.changes``): ``("Customer", "C-000042")``.
BUSINESS_KEYS = {"Customer": "accountNumber", "Order": "orderNumber", "Product": "sku"}


def stale_on_change(
    declarations: Iterable[Declaration],
) -> dict[str, tuple[Operation[Any], ...]]:
    """The declared fields a committed change of a core type makes stale, by type.

    Only fields keyed by the type's business key: a change of customer C-000042
    drops the cached ``Customer.warrantyCoverage`` of C-000042 (whatever the
    arguments). Others live out their ``cache_ttl``.
    """
    found: dict[str, list[Operation[Any]]] = {}
    for declaration in declarations:
        for field in declaration.fields:
            if field.reads and BUSINESS_KEYS.get(field.on) == field.key:
                found.setdefault(field.on, []).append(cache_operation(field))
    return {type_name: tuple(ops) for type_name, ops in found.items()}


def variant_of(args: Mapping[str, Any]) -> str:
    """The argument values as one canonical string (part of the cache key)."""
    return orjson.dumps(dict(args), option=orjson.OPT_SORT_KEYS).decode() if args else ""


def to_json(value: Any) -> Any:
    """A GraphQL argument value as the contract's JSON takes it."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):  # datetime included
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    return value


async def load_batch(
    adapter: DeclaredAdapter,
    cache: BoltOnCache | None,
    field: FieldDeclaration,
    args: Mapping[str, Any],
    keys: Sequence[str],
    on_stale: StaleSink | None,
    *,
    variant: str,
) -> Sequence[Any]:
    """One slot per key: the field's JSON answer, ``None``/``[]``, or that key's error.

    ``variant``: the arguments as ``variant_of`` gives them (the loader's own key).
    """
    reads.mark(field.label)

    async def fetch(missing: list[str]) -> list[Any]:
        return await adapter.fetch(field, missing, args)

    if cache is None or not field.reads:
        return await fetch(list(keys))
    return await cache.get_many(
        cache_operation(field), keys, fetch, variant=variant, on_stale=on_stale
    )


def field_resolver(
    field: FieldDeclaration, attribute: str, names: Mapping[str, str]
) -> Callable[..., Any]:
    """The resolver of a declared field on a core object whose key is ``attribute``.

    ``names`` maps the field's GraphQL argument names to the contract's.
    """
    empty: Any = [] if field.many else None

    async def resolve(root: Any, info: GraphQLResolveInfo[Any], **arguments: Any) -> Any:
        key = getattr(root, attribute, None)
        if key is None:
            return empty
        args = {names[name]: to_json(value) for name, value in arguments.items()}
        loader = info.context.loaders.bolt_on(field, args)
        return await loader.load(str(key))

    return resolve


__all__ = [
    "BUSINESS_KEYS",
    "cache_operation",
    "field_resolver",
    "load_batch",
    "stale_on_change",
    "to_json",
    "variant_of",
]
