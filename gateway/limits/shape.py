"""What a document may be made of, checked in linear time before it is validated.

A GraphQL document is small, but what it asks for is its *expansion*: every
fragment spread replaced by its fragment, every repeated field merged with
its namesakes. Both can grow exponentially (each of nine fragments spreading
the next five times: 5^9 landings from 600 characters), and graphql-core's
validation walks the expansion: its rule that checks repeated fields can be
merged (``OverlappingFieldsCanBeMergedRule``) compares every pair of fields
sharing a response name, so 150 copies of ``orders { edges { node { ... } } }``
cost it seconds of CPU. ``DocumentLimits`` therefore runs between parsing and
validation, and only documents of a bounded expansion reach the validator.

``DocumentShape.of`` computes, with one memo per selection set (a fragment
spread a thousand times is walked once):

- ``depth``: the deepest nesting of fields (``QUERY_TOO_DEEP``);
- ``aliases``: aliases written in the document (``TOO_MANY_ALIASES``);
- ``spreads``: fragment spreads once expanded, every landing counted
  (``TOO_MANY_FRAGMENT_SPREADS``);
- ``fields``: fields once expanded. Every field costs at least 1 whatever
  its list's size, so a document of more fields than ``max_query_cost``
  would be refused for its cost after validation: it is refused now
  (``QUERY_TOO_COSTLY``), before validation pays for it.

Only then, on an expansion those bounds keep small, ``field_merges`` counts
the pairs of same-named fields the merge rule would compare: the fields of
the expanded document are grouped by response path (``customers.edges.node``)
and a group of ``n`` fields costs ``n (n - 1) / 2`` pairs. Over
``max_field_merges`` is ``TOO_MANY_FIELD_MERGES``. Fragments are counted
where they land and, when no operation uses them, on their own (validation
walks them either way).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    NoFragmentCyclesRule,
    OperationDefinitionNode,
    SelectionSetNode,
    validate,
)

from gateway.errors import ErrorCode, GraphQLRequestError
from gateway.limits.settings import LimitsSettings
from gateway.pipeline import Exchange, Handler, Reply


@dataclass(frozen=True, slots=True)
class DocumentShape:
    """Depth, aliases, expanded fragment spreads and expanded fields of a document."""

    depth: int
    aliases: int
    spreads: int
    fields: int
    cyclic: bool

    @classmethod
    def of(cls, document: DocumentNode) -> DocumentShape:
        fragments = _fragments(document)
        walker = _ShapeWalker(fragments)
        depth = spreads = fields = 0
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                found = walker.walk(definition.selection_set)
                depth, spreads, fields = max(depth, found[0]), spreads + found[1], fields + found[2]
        for fragment in fragments.values():
            # A fragment no operation uses is still validated on its own.
            if id(fragment.selection_set) not in walker.memo:
                found = walker.walk(fragment.selection_set)
                depth, spreads, fields = max(depth, found[0]), spreads + found[1], fields + found[2]
        return cls(depth, _count_aliases(document), spreads, fields, walker.cyclic)


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


class _ShapeWalker:
    """Depth, spread count and field count of each selection set, each computed once."""

    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.memo: dict[int, tuple[int, int, int]] = {}
        self.visiting: set[int] = set()
        self.cyclic = False

    def walk(self, selection_set: SelectionSetNode) -> tuple[int, int, int]:
        key = id(selection_set)
        known = self.memo.get(key)
        if known is not None:
            return known
        if key in self.visiting:
            self.cyclic = True  # a fragment cycle: validation names it
            return 0, 0, 0
        self.visiting.add(key)
        depth = spreads = fields = 0
        for selection in selection_set.selections:
            child: SelectionSetNode | None = None
            if isinstance(selection, FieldNode):
                fields += 1
                if selection.selection_set is not None and not selection.name.value.startswith(
                    "__"
                ):
                    child_depth, child_spreads, child_fields = self.walk(selection.selection_set)
                    depth = max(depth, 1 + child_depth)
                    spreads, fields = spreads + child_spreads, fields + child_fields
                continue
            if isinstance(selection, InlineFragmentNode):
                child = selection.selection_set
            elif isinstance(selection, FragmentSpreadNode):
                spreads += 1
                fragment = self.fragments.get(selection.name.value)
                child = fragment.selection_set if fragment is not None else None
            if child is not None:
                child_depth, child_spreads, child_fields = self.walk(child)
                depth = max(depth, child_depth)
                spreads, fields = spreads + child_spreads, fields + child_fields
        self.visiting.discard(key)
        self.memo[key] = (depth, spreads, fields)
        return depth, spreads, fields


def _count_aliases(document: DocumentNode) -> int:
    count = 0
    stack: list[SelectionSetNode] = [
        d.selection_set
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode | FragmentDefinitionNode)
    ]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FieldNode):
                count += selection.alias is not None
                if selection.selection_set is not None:
                    stack.append(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                stack.append(selection.selection_set)
    return count


# --- pairs of fields to merge -------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldMerges:
    """The pairs of same-named fields a document asks validation to compare.

    ``pairs`` stops counting just past the budget it was computed with;
    ``worst`` is the response path of the largest group and ``copies`` its
    size (as far as the count went).
    """

    pairs: int
    worst: str | None = None
    copies: int = 0


def field_merges(document: DocumentNode, *, budget: int) -> FieldMerges:
    """Count the pairs of fields sharing a response path, up to ``budget + 1``.

    Call it on an acyclic document whose expansion is bounded
    (``DocumentShape``): the walk visits every expanded field once. Within
    one selection a fragment lands once however often it is spread there, as
    graphql-core collects it.
    """
    fragments = _fragments(document)
    # Each entry: a response path and the selection sets whose fields land there.
    stack: list[tuple[str, list[SelectionSetNode]]] = [
        (f"...{name}", [fragment.selection_set]) for name, fragment in fragments.items()
    ]
    stack.extend(
        (d.name.value if d.name else "", [d.selection_set])
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    )
    stack.reverse()
    pairs = copies = 0
    worst: str | None = None
    while stack:
        path, sets = stack.pop()
        counts: dict[str, int] = {}
        children: dict[str, list[SelectionSetNode]] = {}
        for field in _landing(sets, fragments):
            name = field.alias.value if field.alias else field.name.value
            seen = counts.get(name, 0)
            counts[name] = seen + 1
            pairs += seen
            if seen + 1 > copies:
                copies, worst = seen + 1, f"{path}.{name}" if path else name
            if pairs > budget:
                return FieldMerges(pairs, worst, copies)
            if field.selection_set is not None:
                children.setdefault(name, []).append(field.selection_set)
        for name, subsets in children.items():
            stack.append((f"{path}.{name}" if path else name, subsets))
    return FieldMerges(pairs, worst, copies)


def _landing(
    sets: list[SelectionSetNode], fragments: Mapping[str, FragmentDefinitionNode]
) -> Iterator[FieldNode]:
    """The fields landing in one place, spreads and inline fragments expanded."""
    landed: set[str] = set()
    stack = sets[::-1]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FieldNode):
                yield selection
            elif isinstance(selection, InlineFragmentNode):
                stack.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if fragment is not None and name not in landed:
                    landed.add(name)
                    stack.append(fragment.selection_set)


# --- the step -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShapeLimits:
    """The bounds ``DocumentLimits`` holds a document to.

    ``max_fields`` is the largest query cost: every field costs at least 1.
    """

    max_depth: int
    max_aliases: int
    max_spreads: int
    max_fields: int
    max_merges: int

    @classmethod
    def from_settings(cls, settings: LimitsSettings) -> ShapeLimits:
        return cls(
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_query_aliases,
            max_spreads=settings.max_fragment_spreads,
            max_fields=settings.max_query_cost,
            max_merges=settings.max_field_merges,
        )

    def refusal(self, document: DocumentNode, schema: GraphQLSchema) -> GraphQLRequestError | None:
        """The refusal of ``document``, or ``None`` when it is within bounds."""
        shape = DocumentShape.of(document)
        refusal = self._shape_refusal(shape)
        if refusal is not None:
            return refusal
        if shape.cyclic:
            # Refused now, in the specification's words: every walk of a cyclic
            # expansion (the merge check's too) would have to guard against it.
            errors = validate(schema, document, [NoFragmentCyclesRule])
            return GraphQLRequestError.of(errors, ErrorCode.GRAPHQL_VALIDATION_FAILED)
        merges = field_merges(document, budget=self.max_merges)
        if merges.pairs > self.max_merges:
            return GraphQLRequestError(
                f"{merges.worst} is selected {merges.copies} times or more: checking that "
                f"the document's repeated fields can be merged would compare more than "
                f"{self.max_merges} pairs of fields; select each field once",
                code=ErrorCode.TOO_MANY_FIELD_MERGES,
                extensions={"path": merges.worst, "maxPairs": self.max_merges},
            )
        return None

    def _shape_refusal(self, shape: DocumentShape) -> GraphQLRequestError | None:
        if shape.spreads > self.max_spreads:
            return GraphQLRequestError(
                f"the document expands to {shape.spreads} fragment spreads; at most "
                f"{self.max_spreads} are allowed",
                code=ErrorCode.TOO_MANY_FRAGMENT_SPREADS,
                extensions={"spreads": shape.spreads, "maxSpreads": self.max_spreads},
            )
        if shape.fields > self.max_fields:
            return GraphQLRequestError(
                f"the document selects {shape.fields} fields once its fragments are "
                f"expanded, and each costs at least 1: its cost exceeds the limit of "
                f"{self.max_fields}",
                code=ErrorCode.QUERY_TOO_COSTLY,
                extensions={"fields": shape.fields, "maxCost": self.max_fields},
            )
        if shape.depth > self.max_depth:
            return GraphQLRequestError(
                f"the document exceeds maximum operation depth of {self.max_depth} "
                f"(it is {shape.depth} deep)",
                code=ErrorCode.QUERY_TOO_DEEP,
                extensions={"depth": shape.depth, "maxDepth": self.max_depth},
            )
        if shape.aliases > self.max_aliases:
            return GraphQLRequestError(
                f"{shape.aliases} aliases found; at most {self.max_aliases} are allowed",
                code=ErrorCode.TOO_MANY_ALIASES,
                extensions={"aliases": shape.aliases, "maxAliases": self.max_aliases},
            )
        return None


class DocumentLimits:
    """Step: refuse a document whose expansion is too deep, too large or too repetitive.

    Runs between parsing and validation; the verdict on each distinct
    document is kept by its text (least recently used dropped).
    """

    def __init__(
        self, limits: ShapeLimits, schema: GraphQLSchema, *, max_entries: int = 1024
    ) -> None:
        self.limits = limits
        self.schema = schema
        self.max_entries = max_entries
        self._verdicts: OrderedDict[str, GraphQLRequestError | None] = OrderedDict()

    async def __call__(self, exchange: Exchange, call_next: Handler) -> Reply:
        text = exchange.require_params().query or ""
        if text in self._verdicts:
            self._verdicts.move_to_end(text)
            refusal = self._verdicts[text]
        else:
            assert exchange.document is not None
            refusal = self.limits.refusal(exchange.document, self.schema)
            self._verdicts[text] = refusal
            if len(self._verdicts) > self.max_entries:
                self._verdicts.popitem(last=False)
        if refusal is not None:
            # A fresh exception each time: a raised one collects the frames it passes.
            raise GraphQLRequestError(
                refusal.message,
                code=refusal.code,
                extensions=refusal.extensions,
                errors=refusal.errors,
            )
        return await call_next(exchange)


__all__ = [
    "DocumentLimits",
    "DocumentShape",
    "FieldMerges",
    "ShapeLimits",
    "field_merges",
]
