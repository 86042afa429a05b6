"""A prepared operation: what every step after ``Resolve`` and the executor share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import FragmentDefinitionNode, OperationDefinitionNode, OperationType
from graphql.execution import Executor


@dataclass(frozen=True, slots=True)
class PreparedOperation:
    """A validated operation with its coerced variables, ready to execute once.

    Attributes:
        definition: the operation picked from the document.
        executor: graphql-core's executor, built for this request.
        incremental: the operation uses ``@defer`` or ``@stream`` and its client reads
            a stream (else its executor ignores the directives).
    """

    definition: OperationDefinitionNode
    executor: Executor[Any]
    incremental: bool

    @property
    def kind(self) -> OperationType:
        return self.definition.operation

    @property
    def name(self) -> str | None:
        return self.definition.name.value if self.definition.name else None

    @property
    def fragments(self) -> Mapping[str, FragmentDefinitionNode]:
        return self.executor.fragment_definitions

    @property
    def variables(self) -> dict[str, Any]:
        return self.executor.variable_values.coerced


__all__ = ["PreparedOperation"]
