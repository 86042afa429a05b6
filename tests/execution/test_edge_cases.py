"""The compiled executor on shapes the gateway's schema does not have, against graphql-core.

A small strawberry schema with lists of lists, nullable and non-null items,
unions and interfaces, async generators, sync and async resolvers that fail
or return wrong values, ``is_type_of`` refusals and out-of-range scalars.
Each document runs through graphql-core (strawberry's executor class, and
plain ``graphql.execute``) and through ``execute_compiled``; the formatted
results must be the same bytes, the resolvers must see the same infos.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncGenerator
from decimal import Decimal
from typing import Annotated, Any

import orjson
import pytest
import strawberry
from graphql import ExecutionResult, GraphQLField, GraphQLNonNull, GraphQLString, execute, parse
from strawberry.dataloader import DataLoader
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from gateway.execution import PlanCache, compile_operation, execute_compiled
from gateway.execution.compiled import _MAX_VARIANTS


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Cat(Named):
    lives: int


@strawberry.type
class Dog(Named):
    good: bool


@strawberry.type
class Plain:
    value: str


Pet = Annotated[Cat | Dog, strawberry.union("Pet")]


class Context:
    """Per-request state: a loader (its batches are counted) and the infos resolvers saw."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.infos: list[tuple[Any, ...]] = []

        async def load(keys: list[int]) -> list[int]:
            self.batches.append(list(keys))
            return [key * 10 for key in keys]

        self.loader = DataLoader(load_fn=load)


@strawberry.type
class Item:
    id: int
    label: str | None
    colour: Colour

    @strawberry.field
    async def loaded(self, info: strawberry.Info[Context, None]) -> int:
        return await info.context.loader.load(self.id)

    @strawberry.field
    async def doubled(self, info: strawberry.Info[Context, None]) -> int:
        return 2 * await info.context.loader.load(self.id)

    @strawberry.field
    def sync_fail(self) -> str | None:
        raise ValueError(f"sync failure {self.id}")

    @strawberry.field
    async def async_fail(self) -> str | None:
        await asyncio.sleep(0)
        raise ValueError(f"async failure {self.id}")

    @strawberry.field
    async def strict_fail(self) -> str:
        raise ValueError(f"non-null failure {self.id}")

    @strawberry.field
    def strict_sync_fail(self) -> str:
        raise ValueError(f"non-null sync failure {self.id}")

    @strawberry.field
    def returns_error(self) -> str | None:
        return ValueError("returned, not raised")  # type: ignore[return-value]

    @strawberry.field
    def recorded(self, info: strawberry.Info[Context, None], tag: str = "t") -> str:
        raw = info._raw_info
        info.context.infos.append(
            (
                raw.field_name,
                [n.name.value for n in raw.field_nodes],
                str(raw.return_type),
                raw.parent_type.name,
                raw.path.as_list(),
                raw.variable_values if isinstance(raw.variable_values, dict) else "vv",
                getattr(raw, "operation_extensions", "-"),
                raw.operation.name.value if raw.operation.name else None,
                sorted(raw.fragments),
                tag,
            )
        )
        return tag


@strawberry.type
class Query:
    @strawberry.field
    def items(self, count: int = 3) -> list[Item]:
        return [
            Item(id=i, label=None if i % 2 else f"item {i}", colour=Colour.RED)
            for i in range(count)
        ]

    @strawberry.field
    async def async_items(self) -> list[Item | None]:
        return [Item(id=1, label="a", colour=Colour.BLUE), None]

    @strawberry.field
    def grid(self) -> list[list[int | None]]:
        return [[1, None, 3], [], [4]]

    @strawberry.field
    def strict_grid(self) -> list[list[int]]:
        return [[1, 2], [3, None]]  # type: ignore[list-item]

    @strawberry.field
    def labels(self) -> list[str]:
        return ["a", "b", None]  # type: ignore[list-item]

    @strawberry.field
    def pets(self) -> list[Pet]:
        return [Cat(name="Tom", lives=9), Dog(name="Rex", good=True)]

    @strawberry.field
    def named(self) -> list[Named]:
        return [Dog(name="Fido", good=False), Cat(name="Kit", lives=3)]

    @strawberry.field
    def wrong_pet(self) -> Pet | None:
        return Plain(value="not a pet")  # type: ignore[return-value]

    @strawberry.field
    def wrong_cat(self) -> Cat | None:
        return Dog(name="impostor", good=True)  # type: ignore[return-value]

    @strawberry.field
    def big(self) -> int | None:
        return 2**40

    @strawberry.field
    def ratio(self) -> float:
        return 1

    @strawberry.field
    def price(self) -> Decimal:
        return Decimal("12.50")

    @strawberry.field
    def wrong_colour(self) -> Colour | None:
        return "green"  # type: ignore[return-value]

    @strawberry.field
    def not_a_list(self) -> list[int] | None:
        return 5  # type: ignore[return-value]

    @strawberry.field
    def stream(self) -> list[int]:  # a list field answered by an async generator
        async def values() -> AsyncGenerator[int, None]:
            for value in (1, 2):
                yield value

        return values()  # type: ignore[return-value]

    @strawberry.field
    def echo(
        self, text: str = "default", times: int = 1, colours: list[Colour] | None = None
    ) -> str:
        return f"{text * times}:{[c.value for c in colours or []]}"

    @strawberry.field
    def strict_item(self) -> Item:
        return Item(id=7, label="seven", colour=Colour.BLUE)


@strawberry.type
class Mutation:
    @strawberry.mutation
    def touch(self) -> int:
        return 1


SCHEMA = strawberry.Schema(query=Query, mutation=Mutation, types=[Cat, Dog])
GRAPHQL = SCHEMA._schema

DOCUMENTS = [
    "{ items { id label colour loaded doubled } }",
    "{ items(count: 5) { id loaded } asyncItems { id loaded } }",
    "{ items { syncFail asyncFail id } }",
    "{ items { id strictFail } big }",
    "{ asyncItems { id strictFail } big }",
    "{ items { strictSyncFail loaded } price }",
    "{ strictItem { strictFail loaded } ratio }",
    "{ items { returnsError } }",
    "{ grid strictGrid }",
    "{ labels }",
    "{ pets { __typename ... on Cat { name lives } ... on Dog { name good } } }",
    "{ named { name __typename ... on Dog { good } } }",
    "{ wrongPet { __typename } wrongCat { name } }",
    "{ big ratio price wrongColour notAList }",
    "{ stream }",
    '{ echo a: echo(text: "x", times: 3) b: echo(colours: [RED, BLUE]) }',
    'query($t: String = "v", $n: Int!) { echo(text: $t, times: $n) }',
    "query Q($tag: String) { items(count: 2) { ...F } } fragment F on Item { recorded(tag: $tag) }",
    '{ items { ... on Item { a: recorded b: recorded(tag: "b") } } }',
]
VARIABLES: dict[str, Any] = {"n": 2, "tag": "given"}


def _formatted(result: ExecutionResult) -> bytes:
    errors = [e.formatted for e in result.errors] if result.errors else None
    return orjson.dumps({"data": result.data, "errors": errors})


async def _reference(query: str, *, strawberry_info: bool) -> tuple[bytes, Context]:
    context = Context()
    kwargs: dict[str, Any] = {}
    if strawberry_info:
        kwargs = {
            "executor_class": StrawberryGraphQLCoreExecutionContext,
            "is_awaitable": optimized_is_awaitable,
            "operation_extensions": {"x": 1},
        }
    outcome = execute(
        GRAPHQL, parse(query), context_value=context, variable_values=VARIABLES, **kwargs
    )
    result = outcome if isinstance(outcome, ExecutionResult) else await outcome
    return _formatted(result), context


async def _compiled(
    query: str, *, strawberry_info: bool, cache: PlanCache | None = None
) -> tuple[bytes, Context]:
    context = Context()
    result = await execute_compiled(
        GRAPHQL,
        parse(query),
        cache=cache or PlanCache(),
        context_value=context,
        variable_values=VARIABLES,
        strawberry_info=strawberry_info,
        operation_extensions={"x": 1} if strawberry_info else None,
    )
    assert result is not None
    return _formatted(result), context


@pytest.mark.parametrize("strawberry_info", [True, False], ids=["strawberry-info", "core-info"])
@pytest.mark.parametrize("query", DOCUMENTS)
async def test_same_result_batches_and_infos(query: str, strawberry_info: bool) -> None:
    expected, expected_context = await _reference(query, strawberry_info=strawberry_info)
    actual, actual_context = await _compiled(query, strawberry_info=strawberry_info)
    assert actual == expected
    assert actual_context.batches == expected_context.batches
    assert actual_context.infos == expected_context.infos


async def test_the_documents_reach_the_error_paths() -> None:
    # The comparison above is only as good as what the documents provoke.
    expected, _ = await _reference("{ items { id strictFail } big }", strawberry_info=True)
    assert orjson.loads(expected)["data"] is None  # non-null all the way up
    expected, _ = await _reference("{ asyncItems { id strictFail } big }", strawberry_info=True)
    assert orjson.loads(expected)["data"] == {"asyncItems": [None, None], "big": None}
    expected, context = await _reference(DOCUMENTS[1], strawberry_info=True)
    assert len(context.batches) == 1 and len(context.batches[0]) == 5  # one batch, both lists
    expected, _ = await _reference("{ stream }", strawberry_info=True)
    assert orjson.loads(expected)["data"] == {"stream": [1, 2]}


async def test_mutations_subscriptions_and_introspection_fall_back() -> None:
    cache = PlanCache()
    for query in (
        "mutation { touch }",
        "{ __schema { queryType { name } } }",
        '{ items { id } __type(name: "Item") { name } }',
        "query A { big } query B { ratio }",  # no operation name: graphql-core's error
        "{ ...Missing }",
    ):
        assert await execute_compiled(GRAPHQL, parse(query), cache=cache) is None, query
    assert cache.stats.compiled == 0


async def test_bad_variables_get_graphql_cores_errors() -> None:
    document = parse("query($n: Int!) { echo(times: $n) }")
    expected = execute(GRAPHQL, document, variable_values={"n": "x"})
    assert isinstance(expected, ExecutionResult)
    actual = await execute_compiled(
        GRAPHQL, document, cache=PlanCache(), variable_values={"n": "x"}
    )
    assert actual is not None and _formatted(actual) == _formatted(expected)


async def test_the_cache_compiles_once_and_is_bounded() -> None:
    cache = PlanCache(maxsize=2, compile_after=2)
    first = parse("{ big }")
    assert await execute_compiled(GRAPHQL, first, cache=cache) is None  # first sight: wait
    assert await execute_compiled(GRAPHQL, parse("{ big }"), cache=cache) is not None
    assert await execute_compiled(GRAPHQL, first, cache=cache) is not None  # same text, a hit
    assert (cache.stats.waiting, cache.stats.compiled, cache.stats.hits) == (1, 1, 1)
    for query in ("{ ratio }", "{ price }"):
        await execute_compiled(GRAPHQL, parse(query), cache=cache)
    assert len(cache) == 2 and cache.stats.evicted == 1


async def test_skip_and_include_variables_get_a_plan_each() -> None:
    cache = PlanCache()
    document = parse("query($a: Boolean!) { big @include(if: $a) ratio @skip(if: $a) }")
    for value in (True, False, True):
        result = await execute_compiled(
            GRAPHQL, document, cache=cache, variable_values={"a": value}
        )
        expected = execute(GRAPHQL, document, variable_values={"a": value})
        assert isinstance(expected, ExecutionResult)
        assert result is not None and result.data == expected.data
    assert (cache.stats.compiled, cache.stats.hits) == (2, 1)
    assert _MAX_VARIANTS >= 2


async def test_a_resolver_wrapped_after_compiling_is_the_one_called() -> None:
    # guard_fields wraps resolvers at the first operation: a plan made before must see it.
    schema = strawberry.Schema(query=Query)._schema
    cache = PlanCache()
    document = parse("{ strictItem { label id } }")
    first = await execute_compiled(schema, document, cache=cache, context_value=Context())
    assert first is not None and first.data == {"strictItem": {"label": "seven", "id": 7}}
    item_type = schema.type_map["Item"]
    field = item_type.fields["label"]  # type: ignore[union-attr]

    def refused(*_: Any, **__: Any) -> Any:
        raise PermissionError("no")

    field.resolve = refused
    again = await execute_compiled(schema, document, cache=cache, context_value=Context())
    assert again is not None and again.data == {"strictItem": {"label": None, "id": 7}}
    assert again.errors is not None and again.errors[0].message == "no"
    assert cache.stats.hits == 1


def test_a_custom_field_type_the_compiler_does_not_know_falls_back() -> None:
    # A field missing from its type (no validation) must not compile.
    from gateway.execution.plan import select_operation

    document = parse("{ nope }")
    operation, _ = select_operation(document, None)
    assert operation is not None
    from graphql.execution.values import get_variable_values

    variables = get_variable_values(GRAPHQL, (), {})
    assert not isinstance(variables, list)
    assert compile_operation(GRAPHQL, document, None, variables) is None
    assert GraphQLField(GraphQLNonNull(GraphQLString))  # the types used above exist


@pytest.mark.parametrize("query", [q for q in DOCUMENTS if "Fail" in q or "wrong" in q])
async def test_masking_sees_the_same_original_errors(query: str) -> None:
    # Masking decides from each error's original error: it must be the same.
    from gateway.execution.masking import masked as mask

    def masked(result: ExecutionResult) -> list[Any]:
        return [e.formatted for e in mask(result.errors or [], "req-1")]

    document = parse(query)
    outcome = execute(GRAPHQL, document, context_value=Context(), variable_values=VARIABLES)
    expected = outcome if isinstance(outcome, ExecutionResult) else await outcome
    actual = await execute_compiled(
        GRAPHQL, document, cache=PlanCache(), context_value=Context(), variable_values=VARIABLES
    )
    assert actual is not None
    assert masked(actual) == masked(expected)
    assert [type(e.original_error) for e in actual.errors or []] == [
        type(e.original_error) for e in expected.errors or []
    ]
    assert expected.errors  # these documents do fail
