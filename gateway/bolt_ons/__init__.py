"""Bolt-ons declared from a partner's OpenAPI contract: no Python per partner.

A declared bolt-on is two files in ``bolt_ons_dir``: the partner's contract
and a TOML declaration of how its answers join the core's types
(``../shared/BOLT_ONS.md`` is the binding format; docs/bolt-ons.md the
guide). What lives here, in the order a request meets it:

- ``contract``: the parts of an OpenAPI 3 contract the gateway uses;
- ``declaration``: the TOML declarations, checked against their contracts
  (an invalid one stops start-up with one line naming file, key, problem);
- ``graph``: the fields added to the core's types, their types generated
  from the contract's schemas;
- ``loading``: resolver -> per-request DataLoader -> bolt-on cache -> adapter;
- ``adapter``: the calls, batched or one per key, on ``HttpBackend`` (so the
  same pool, budget, retries, breaker, bulkhead, metrics and traces);
- ``validation``: a JSON answer checked against the contract's schema
  (``gateway check``).

``BoltOnFacts`` gathers what the rest of the gateway needs to know of the
declared bolt-ons (costs, scopes, cache lifetimes) in one place.

This package may import ``adapters`` and ``gateway.caching``; nothing here
imports the app, the context or the HTTP layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gateway.bolt_ons.declaration import (
    Declaration,
    DeclarationError,
    FieldDeclaration,
    load_declaration,
    load_declarations,
)


@dataclass(frozen=True)
class BoltOnFacts:
    """What the declared bolt-ons add to the gateway's cost, scopes and cache lifetimes."""

    declarations: tuple[Declaration, ...]

    def field_costs(self, default: int) -> dict[tuple[str, str], int]:
        """Each declared field's weight in the query cost (``default`` unless declared)."""
        return {
            (field.on, field.name): field.cost if field.cost is not None else default
            for declaration in self.declarations
            for field in declaration.fields
        }

    @property
    def scopes(self) -> frozenset[str]:
        """The scopes the declarations name: scopes clients can be given."""
        return frozenset(s for declaration in self.declarations for s in declaration.scopes)

    def read_ttls(self, overrides: Mapping[str, float]) -> dict[str, float]:
        """Fresh seconds of each declared read mark (``service.operationId``)."""
        return {
            field.label: declaration.fresh_ttl(field, overrides)
            for declaration in self.declarations
            for field in declaration.fields
            if field.reads
        }


__all__ = [
    "BoltOnFacts",
    "Declaration",
    "DeclarationError",
    "FieldDeclaration",
    "load_declaration",
    "load_declarations",
]
