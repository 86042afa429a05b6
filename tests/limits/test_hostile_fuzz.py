"""Fuzz the document analysis: its time grows with the document, never with its expansion.

Hypothesis generates fragment-heavy documents from a template: ``levels``
fragments, each spreading the next ``fan_out`` times (at one place or at
distinct places), with leaves, aliases and repeated fields. The same
template is built at ``levels`` and at ``8 * levels``: the expansion of the
larger one is ``fan_out ** (7 * levels)`` times bigger, its text 8 times.
Every check that runs before the executor (shape, merges, cost, root
permissions) must take time proportional to the text.

CPU time (``process_time``, the best of a few runs) rather than wall time:
the machine is shared, and the bound is generous, since a super-linear walk
misses it by orders of magnitude. A walk that went exponential would not
finish at all: an alarm turns that into a failure.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.limits.cost import CostModel, operation_cost
from gateway.limits.shape import ShapeLimits
from gateway.security.clients import ALL_SCOPES
from gateway.security.permissions import refused_root_fields
from gateway.settings import Settings
from schema import build_schema

SCHEMA: GraphQLSchema = build_schema()._schema
SETTINGS = Settings()
LIMITS = ShapeLimits(
    max_depth=SETTINGS.max_query_depth,
    max_aliases=SETTINGS.max_query_aliases,
    max_spreads=SETTINGS.max_fragment_spreads,
    max_fields=SETTINGS.max_query_cost,
    max_merges=SETTINGS.max_field_merges,
)
MODEL = CostModel.from_settings(SETTINGS)

#: CPU seconds per character of document the analysis may take (measured: ~1-3 µs).
PER_CHARACTER = 100e-6
#: How much worse than linear the 8x document may scale.
SLACK = 4.0

LEAVES = ["name", "email", "segment", "accountNumber", "version", "creditLimit", "__typename"]


@dataclass(frozen=True)
class Template:
    """The shape of one generated document, buildable at any number of levels."""

    fan_out: int
    distinct_places: bool  # spreads under different fields (no dedup) or side by side
    leaves: tuple[str, ...]
    repeats: int  # each leaf repeated: overlapping fields to merge
    aliased: bool
    mutation: bool

    def build(self, levels: int) -> str:
        fragments = []
        for level in range(levels):
            spreads = []
            for branch in range(self.fan_out):
                spread = f"...F{level + 1}"
                if self.distinct_places:
                    alias = f"b{branch}: " if self.aliased else ""
                    spread = (
                        f"{alias}orders(first: {branch + 1}) {{ edges {{ node {{ "
                        f"customer {{ {spread} }} }} }} }}"
                    )
                spreads.append(spread)
            body = " ".join(
                [*spreads, *(leaf for leaf in self.leaves for _ in range(self.repeats))]
            )
            fragments.append(f"fragment F{level} on Customer {{ {body} }}")
        fragments.append(f"fragment F{levels} on Customer {{ {' '.join(self.leaves)} }}")
        if self.mutation:
            root = (
                'mutation M { updateCustomer(input: {accountNumber: "C-000001", '
                "expectedVersion: 1}) { customer { ...F0 } } }"
            )
        else:
            root = "query Q { customers(first: 5) { edges { node { ...F0 } } } }"
        return root + " " + " ".join(fragments)


templates = st.builds(
    Template,
    fan_out=st.integers(1, 6),
    distinct_places=st.booleans(),
    leaves=st.lists(st.sampled_from(LEAVES), min_size=1, max_size=4).map(tuple),
    repeats=st.integers(1, 3),
    aliased=st.booleans(),
    mutation=st.booleans(),
)


def analyse(document: DocumentNode) -> None:
    """Everything that looks at a document before it is executed, but validation itself."""
    LIMITS.refusal(document, SCHEMA)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            operation_cost(SCHEMA, definition, fragments, {}, MODEL)
            refused_root_fields(definition, fragments, frozenset(ALL_SCOPES))


def cpu_time(run: Callable[[], None], repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        run()
        best = min(best, time.process_time() - started)
    return best


@contextmanager
def alarm(seconds: int) -> Iterator[None]:
    """Fail (instead of hanging) when the body runs longer than ``seconds``."""

    def expired(signum: int, frame: FrameType | None) -> None:
        raise AssertionError(f"the analysis ran longer than {seconds} s: not linear")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(template=templates, levels=st.integers(3, 12))
def test_analysis_time_is_linear_in_the_document(template: Template, levels: int) -> None:
    small_text, large_text = template.build(levels), template.build(8 * levels)
    small, large = parse(small_text), parse(large_text)
    with alarm(30):
        small_time = cpu_time(lambda: analyse(small))
        large_time = cpu_time(lambda: analyse(large))
    # Time per character stays bounded ...
    assert large_time <= PER_CHARACTER * len(large_text) + 0.005, (
        f"{large_time * 1000:.1f} ms for {len(large_text)} characters: {template}"
    )
    # ... and 8x the text costs about 8x the time, not fan_out ** (7 * levels).
    ratio = len(large_text) / len(small_text)
    assert large_time <= SLACK * ratio * small_time + 0.005, (
        f"{small_time * 1000:.2f} ms -> {large_time * 1000:.2f} ms for "
        f"{len(small_text)} -> {len(large_text)} characters: {template}"
    )


def test_linearity_figures() -> None:
    """The figures of the report: analysis time per character, 1x against 8x, for the bomb."""
    template = Template(5, False, ("name", "email"), 1, False, False)
    rows = []
    for levels in (4, 8, 16, 32, 64):
        text = template.build(levels)
        document = parse(text)
        taken = cpu_time(lambda document=document: analyse(document), repeats=5)  # type: ignore[misc]
        rows.append((levels, len(text), taken))
        assert taken <= PER_CHARACTER * len(text) + 0.005
    print(
        "fan-out 5 fragment chains, analysis CPU time: "
        + "; ".join(
            f"{levels} levels, {size} chars: {taken * 1000:.2f} ms "
            f"({taken / size * 1e6:.2f} us/char)"
            for levels, size, taken in rows
        )
    )
