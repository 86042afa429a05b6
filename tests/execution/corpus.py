"""The documents of the differential tests.

- ``suite_documents()``: every query document written in the test suite and
  the benchmark (string constants of ``tests/**/*.py`` and ``bench/*.py`` that
  parse as GraphQL, hold a query and validate against the schema);
- ``CASES``: hand-written requests covering every type of the schema, aliases,
  fragments and inline fragments, ``__typename``, the ``Node`` interface,
  variables with and without defaults, input objects, enums, custom scalars,
  ``@skip``/``@include`` on literals and variables, and field errors: bad
  arguments, null propagation through non-null fields up to ``data``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLSchema,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    parse,
    type_from_ast,
)
from graphql import validate as validate_document

ROOT = Path(__file__).resolve().parents[2]


def _strings(path: Path) -> list[str]:
    try:
        tree = ast.parse(path.read_text(), filename=str(path))
    except SyntaxError:
        return []
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "{" in node.value
    ]


def suite_documents(schema: GraphQLSchema) -> list[str]:
    """The test suite's and the benchmark's query documents (see the module docstring)."""
    found: dict[str, None] = {}
    files = sorted((ROOT / "tests").rglob("*.py")) + sorted((ROOT / "bench").glob("*.py"))
    for path in files:
        if path.parent.name == "execution":
            continue  # our own corpus is run on its own
        for text in _strings(path):
            try:
                document = parse(text)
            except GraphQLError:
                continue
            operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
            if len(operations) != 1 or operations[0].operation is not OperationType.QUERY:
                continue
            if validate_document(schema, document):
                continue
            found[text] = None
    return list(found)


def variables_for(schema: GraphQLSchema, query: str) -> dict[str, Any]:
    """Plausible values for the required variables of a suite document without defaults.

    The suite's tests pass their variables beside the document; here the values
    come from the variable's name and type, so the document runs on real rows.
    """
    values: dict[str, Any] = {}
    for definition in parse(query).definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        for variable in definition.variable_definitions or ():
            if not isinstance(variable.type, NonNullTypeNode) or variable.default_value:
                continue
            name = variable.variable.name.value
            named = type_from_ast(schema, variable.type.type)
            lowered = name.lower()
            if isinstance(named, GraphQLEnumType):
                values[name] = next(iter(named.values))
            elif isinstance(named, GraphQLInputObjectType):
                values[name] = {}
            elif str(named) == "Int":
                values[name] = 3
            elif str(named) == "Boolean":
                values[name] = True
            elif "sku" in lowered:
                values[name] = "SKU-00002"
            elif "account" in lowered:
                values[name] = "C-000002"
            elif str(named) == "ID" or lowered == "id":
                values[name] = "Q3VzdG9tZXI6Mg"
            else:
                values[name] = "SO-000002"
    return values


@dataclass(frozen=True)
class Case:
    """One request of the hand-written corpus."""

    name: str
    query: str
    variables: dict[str, Any] | None = None
    operation_name: str | None = None
    scopes: frozenset[str] | None = None  # None: every scope
    extra: dict[str, Any] = field(default_factory=dict)


CORE_ONLY = frozenset({"core:read"})

_CUSTOMER_FIELDS = """
  id accountNumber name email segment creditLimit version createdAt updatedAt openBalance
"""

CASES: list[Case] = [
    Case(
        "every customer field",
        '{ customer(accountNumber: "C-000003") {'
        + _CUSTOMER_FIELDS
        + """
           insights { healthScore churnRisk lifetimeValue nextBestAction owner { name email } }
           activities(limit: 3) { id kind occurredAt summary }
           orders(first: 2) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor
             endCursor } edges { cursor node { orderNumber status } } } } }""",
    ),
    Case(
        "every product field",
        """{ products(first: 4, filter: {active: true}) { totalCount edges { node {
             id sku name category active unitCost available
             inventory { onHand reserved available warehouse { id code name region } }
             price { listPrice floorPrice targetMarginPct validUntil currency marginPct }
             eur: price(currency: "EUR") { listPrice currency marginPct } } } } }""",
    ),
    Case(
        "every order field",
        """{ orders(first: 6) { edges { node { id orderNumber status currency placedAt version
             createdAt updatedAt total marginPct customer { accountNumber }
             warehouse { code } lines { lineNo quantity unitPrice lineTotal marginPct
               product { sku } }
             shipment { shipmentId carrier trackingNumber status eta updatedAt
               events { occurredAt status location } } } } } }""",
    ),
    Case(
        "shipped orders and their tracking",
        """{ orders(first: 5, filter: {status: SHIPPED}) { edges { node { orderNumber
             shipment { status events { status location } } } } } }""",
    ),
    Case("warehouses", "{ warehouses { __typename id code name region } }"),
    Case(
        "node on every type, fragments and inline fragments",
        """query Nodes($c: ID!, $p: ID!, $o: ID!, $w: ID!) {
             c: node(id: $c) { ...Named __typename }
             p: node(id: $p) { id ... on Product { sku ...Priced } }
             o: node(id: $o) { ... on Order { orderNumber customer { ...Named } } }
             w: node(id: $w) { ... on Warehouse { code } ... on Customer { name } }
           }
           fragment Named on Customer { id name segment }
           fragment Priced on Product { price { listPrice } }""",
        {
            "c": "Q3VzdG9tZXI6Mg",  # Customer:2
            "p": "UHJvZHVjdDoz",  # Product:3
            "o": "T3JkZXI6NA",  # Order:4
            "w": "V2FyZWhvdXNlOjE",  # Warehouse:1
        },
        operation_name="Nodes",
    ),
    Case(
        "a missing node and a bad global id",
        '{ a: node(id: "Q3VzdG9tZXI6OTk5OQ") { id } b: node(id: "!!") { id }'
        " c: warehouses { code } }",
    ),
    Case(
        "variables with defaults, input objects and enums",
        """query($first: Int = 3, $filter: CustomerFilter = {segment: ENTERPRISE},
                 $currency: String = "USD", $status: OrderStatus) {
             customers(first: $first, filter: $filter) { edges { node { name segment
               orders(first: 2, status: $status) { edges { node { status lines {
                 product { price(currency: $currency) { currency listPrice } } } } } } } } } }""",
    ),
    Case(
        "variables given",
        """query($first: Int, $filter: CustomerFilter, $status: OrderStatus) {
             customers(first: $first, filter: $filter) { totalCount edges { node { name
               orders(status: $status) { totalCount } } } } }""",
        {"first": 4, "filter": {"segment": "SMB", "nameContains": "a"}, "status": "PLACED"},
    ),
    Case(
        "product filters from variables",
        """query($f: ProductFilter!) { products(first: 3, filter: $f) {
             edges { node { sku category active } } } }""",
        {"f": {"category": "hardware", "active": False}},
    ),
    Case(
        "skip and include on literals and variables",
        """query($yes: Boolean!, $no: Boolean!) { customers(first: 3) { edges { node {
             name @include(if: $yes) email @skip(if: $yes) segment @include(if: $no)
             ... on Customer @skip(if: $no) { accountNumber }
             insights @include(if: true) { healthScore } version @skip(if: true) } } } }""",
        {"yes": True, "no": False},
    ),
    Case(
        "skip and include, the other way round",
        """query($yes: Boolean!, $no: Boolean!) { customers(first: 3) { edges { node {
             name @include(if: $yes) email @skip(if: $yes) segment @include(if: $no)
             ... on Customer @skip(if: $no) { accountNumber }
             insights @include(if: true) { healthScore } version @skip(if: true) } } } }""",
        {"yes": False, "no": True},
    ),
    Case(
        "aliases and merged fields",
        """{ first: customer(accountNumber: "C-000001") { n: name name id
               o1: orders(first: 1) { edges { node { orderNumber } } }
               o2: orders(first: 1) { edges { node { total } } }
               orders(first: 1) { edges { node { orderNumber } } }
               orders(first: 1) { edges { node { status } } } }
             again: customer(accountNumber: "C-000001") { name } }""",
    ),
    Case(
        "forbidden fields without their scopes",
        """{ customers(first: 3) { edges { node { name insights { healthScore }
             activities { id } orders(first: 2) { edges { node { marginPct lines { marginPct
               product { unitCost price { marginPct listPrice } } } } } } } } } }""",
        scopes=CORE_ONLY,
    ),
    Case(
        "no scope at all: every root field forbidden",
        '{ warehouses { code } customer(accountNumber: "C-000001") { name } }',
        scopes=frozenset(),
    ),
    Case(
        "a user error in a non-null root field nulls data",
        """{ warehouses { code } orders(filter: {accountNumber: "C-999999"}) {
             edges { node { id } } } }""",
    ),
    Case(
        "a user error in a non-null nested field nulls its nullable parent",
        """{ a: customer(accountNumber: "C-000001") { name orders(first: -1) { totalCount } }
             b: customer(accountNumber: "C-000002") { name orders(first: 1) { totalCount } } }""",
    ),
    Case(
        "bad arguments: page size, cursor, currency",
        """{ big: products(first: 100000) { totalCount } c: customers(after: "nope") { totalCount }
             p: product(sku: "SKU-00001") { price(currency: "us dollars") { listPrice } sku } }""",
    ),
    Case(
        "errors inside lists",
        """{ products(first: 5) { edges { node { sku price(currency: "x") { listPrice } } } } }""",
    ),
    Case(
        "typename everywhere",
        """{ __typename customers(first: 2) { __typename pageInfo { __typename } edges {
             __typename node { __typename insights { __typename owner { __typename } } } } } }""",
    ),
    Case(
        "bad variables: graphql-core's errors",
        "query($first: Int!) { customers(first: $first) { totalCount } }",
        {"first": "three"},
    ),
    Case(
        "a missing required variable",
        "query($sku: String!) { product(sku: $sku) { name } }",
    ),
    Case(
        "a named operation among several",
        """query A { warehouses { code } } query B { product(sku: "SKU-00002") { name } }""",
        operation_name="B",
    ),
    Case(
        "deep nesting through relations",
        """{ orders(first: 3) { edges { node { customer { orders(first: 2) { edges { node {
             lines { product { inventory { warehouse { code } } } } } } } } } } } }""",
    ),
]
