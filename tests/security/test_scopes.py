"""Scopes down to fields: a field the client may not see is null with FORBIDDEN, alone.

Mutations are refused whole before anything runs. ``schema/mutations.py`` is
not in the tree yet when these tests were written, so mutation refusal is
tested with the real permission layer on a small schema whose mutations
write to a list (``test_mutation_without_scope_writes_nothing``), and
against the gateway's own mutations when its schema has them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
import strawberry

from gateway.security.clients import ALL_SCOPES, hash_key
from gateway.security.permissions import FIELD_SCOPES, RootPermissions, guard_fields
from simulators.runner import Simulators
from tests.support.gateway import (
    Gateway,
    GatewayFactory,
    bare_client,
    client_config,
    settings_for,
)
from tests.support.operations import run_operation

READ_ALL = """{
  customer(accountNumber: "C-000001") {
    name insights { healthScore } activities(limit: 2) { summary }
  }
  product(sku: "SKU-00001") { sku unitCost price { listPrice marginPct } }
  order(orderNumber: "SO-000002") { orderNumber total marginPct lines { quantity marginPct } }
}"""

#: The fields READ_ALL selects that each scope guards, as response paths (list indexes dropped).
GUARDED = {
    "insights:read": {("customer", "insights"), ("customer", "activities")},
    "margins:read": {
        ("product", "unitCost"),
        ("product", "price", "marginPct"),
        ("order", "marginPct"),
        ("order", "lines", "marginPct"),
    },
}


def _key(scopes: frozenset[str]) -> str:
    return "gwk_scopes-" + "-".join(sorted(s.replace(":", "_") for s in scopes))


def _client(scopes: frozenset[str]) -> dict[str, Any]:
    return {
        "id": "c-" + str(abs(hash(scopes))),
        "scopes": sorted(scopes),
        "key_hashes": [hash_key(_key(scopes))],
    }


WITHOUT = {scope: ALL_SCOPES - {scope} for scope in GUARDED}
NO_CUSTOMER_WRITES = frozenset({"core:read", "orders:write"})


@pytest.fixture(scope="module")
def scope_sets() -> list[frozenset[str]]:
    return [
        ALL_SCOPES,
        *WITHOUT.values(),
        frozenset({"insights:read"}),
        NO_CUSTOMER_WRITES,
        READ_ONLY,
    ]


@pytest.fixture
async def scoped(
    gateway_factory: GatewayFactory,
    sqlite_core: str,
    sims: Simulators,
    scope_sets: list[frozenset[str]],
) -> Gateway:
    clients = [client_config(), *(_client(s) for s in scope_sets)]
    return await gateway_factory(settings_for(sqlite_core, sims, clients=clients))


async def _read(gateway: Gateway, scopes: frozenset[str], query: str = READ_ALL) -> Any:
    async with bare_client(gateway, **{"X-Api-Key": _key(scopes)}) as client:
        response = await client.post("/graphql", json={"query": query})
    assert response.status_code == 200, response.text
    return response.json()


def _forbidden_paths(body: Any) -> set[tuple[str, ...]]:
    return {
        tuple(p for p in error["path"] if isinstance(p, str))
        for error in body.get("errors", [])
        if error["extensions"]["code"] == "FORBIDDEN"
    }


async def test_all_scopes_see_every_field(scoped: Gateway) -> None:
    body = await _read(scoped, ALL_SCOPES)
    assert "errors" not in body, body
    assert body["data"]["product"]["unitCost"] == "100.88"
    assert body["data"]["customer"]["insights"]["healthScore"] is not None


@pytest.mark.parametrize("scope", sorted(GUARDED))
async def test_missing_scope_nulls_only_its_fields(
    scoped: Gateway, sims: Simulators, scope: str
) -> None:
    body = await _read(scoped, WITHOUT[scope])
    assert _forbidden_paths(body) == GUARDED[scope]
    assert all(e["extensions"] == {"code": "FORBIDDEN", "scope": scope} for e in body["errors"])
    data = body["data"]
    # Everything else is there.
    assert data["customer"]["name"] and data["product"]["sku"] == "SKU-00001"
    assert data["order"]["orderNumber"] == "SO-000002" and data["order"]["total"]
    if scope == "insights:read":
        assert data["customer"]["insights"] is None and data["customer"]["activities"] is None
        # A forbidden bolt-on field costs the bolt-on nothing.
        assert sims.crm.state.total == 0
        assert data["product"]["unitCost"] == "100.88"
    else:
        assert data["product"]["unitCost"] is None
        assert (
            data["product"]["price"]["listPrice"] and data["product"]["price"]["marginPct"] is None
        )
        assert all(line["marginPct"] is None for line in data["order"]["lines"])
        assert data["customer"]["insights"] is not None


async def test_missing_core_read_forbids_the_query_root(scoped: Gateway) -> None:
    body = await _read(
        scoped, frozenset({"insights:read"}), '{ product(sku: "SKU-00001") { sku } }'
    )
    assert body["data"] == {"product": None}
    assert _forbidden_paths(body) == {("product",)}


def test_the_map_names_fields_that_exist() -> None:
    from schema import build_schema

    sdl_schema = build_schema()._schema
    for type_name, field_name in FIELD_SCOPES:
        if type_name == "Mutation":
            continue
        graphql_type: Any = sdl_schema.get_type(type_name)
        assert graphql_type is not None, type_name
        assert field_name in graphql_type.fields, f"{type_name}.{field_name}"
        # Protected fields are nullable, so a refusal nulls only them.
        assert not str(graphql_type.fields[field_name].type).endswith("!"), field_name


# --- mutations, on a small schema with the real permission layer -------------------------


@dataclass
class Ledger:
    writes: list[str] = field(default_factory=list)


@strawberry.type
class _Query:
    ping: str = "pong"


@strawberry.type
class _Mutation:
    @strawberry.mutation
    def create_order(self, info: strawberry.Info) -> str:
        info.context.ledger.writes.append("order")
        return "SO-NEW"

    @strawberry.mutation
    def create_customer(self, info: strawberry.Info) -> str:
        info.context.ledger.writes.append("customer")
        return "C-NEW"

    @strawberry.mutation
    def drop_everything(self, info: strawberry.Info) -> str:
        info.context.ledger.writes.append("dropped")
        return "gone"


@dataclass
class _Ctx:
    scopes: frozenset[str]
    ledger: Ledger = field(default_factory=Ledger)
    request_id: str = "req-test"
    extensions: dict[str, object] = field(default_factory=dict)


SMALL = strawberry.Schema(query=_Query, mutation=_Mutation)
guard_fields(SMALL._schema)


@pytest.mark.parametrize(
    ("document", "scopes", "written"),
    [
        ("mutation { createOrder }", {"core:read"}, []),
        ("mutation { createOrder }", {"orders:write"}, ["order"]),
        ("mutation { createCustomer }", {"orders:write"}, []),
        ("mutation { createCustomer }", {"customers:write"}, ["customer"]),
        # One refused field refuses the whole operation: the allowed one is not run either.
        ("mutation { createCustomer createOrder }", {"orders:write"}, []),
        ("mutation { ...F } fragment F on Mutation { createOrder }", {"core:read"}, []),
        # A mutation nobody mapped to a scope fails closed.
        ("mutation { dropEverything }", set(ALL_SCOPES), []),
    ],
)
async def test_mutation_without_scope_writes_nothing(
    document: str, scopes: set[str], written: list[str]
) -> None:
    context = _Ctx(scopes=frozenset(scopes))
    reply = await run_operation(
        SMALL, document, context=context, steps=[RootPermissions()], scopes=frozenset(scopes)
    )
    assert context.ledger.writes == written
    if written:
        assert reply.result is not None and reply.result.errors is None
    else:
        body = reply.response_object()
        assert "data" not in body
        assert body["errors"] and all(
            e["extensions"]["code"] == "FORBIDDEN" for e in body["errors"]
        )


CREATE_CUSTOMER = (
    'mutation { createCustomer(input: {name: "Scope Test", email: "s@example.com", '
    'segment: SMB, creditLimit: "10"}) { __typename } }'
)
CREATE_ORDER = (
    'mutation { createOrder(input: {accountNumber: "C-000001", currency: "USD", '
    'lines: [{sku: "SKU-00001", quantity: 1}]}) { __typename } }'
)
READ_ONLY = frozenset({"core:read", "insights:read", "margins:read"})


@pytest.mark.parametrize(
    ("document", "scopes", "count_query"),
    [
        (
            CREATE_CUSTOMER,
            NO_CUSTOMER_WRITES,
            '{ customers(filter: {nameContains: "Scope Test"}) { totalCount } }',
        ),
        (CREATE_ORDER, READ_ONLY, "{ orders { totalCount } }"),
    ],
)
async def test_gateway_mutations_are_refused_without_scope(
    scoped: Gateway, document: str, scopes: frozenset[str], count_query: str
) -> None:
    """Against the gateway's own mutations (the shared core is read-only: nothing may land)."""
    before = (await scoped.data(count_query)) if "orders" in count_query else None
    async with bare_client(scoped, **{"X-Api-Key": _key(scopes)}) as client:
        response = await client.post("/graphql", json={"query": document})
    body = response.json()
    assert response.status_code == 403
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    after = await scoped.data(count_query)
    if before is not None:
        assert after == before
    else:
        assert after["customers"]["totalCount"] == 0
