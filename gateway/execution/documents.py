"""Each distinct document is parsed and validated once, then served from memory.

Keyed by the document's text; bounded (the least recently used dropped).
Validation runs graphql-core's specified rules plus the gateway's extra
ones (introspection off in production). Parse failures are not kept: a
client retrying a typo should not fill the cache.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    parse,
    specified_rules,
    validate,
)

from gateway.errors import ErrorCode, GraphQLRequestError

_TOO_MANY_TOKENS = "tokens. Parsing aborted."


@dataclass(slots=True)
class _Entry:
    document: DocumentNode
    errors: list[GraphQLError] | None = None  # None: not validated yet


class Documents:
    """Parsed and validated documents of one schema, by their text.

    Args:
        schema: the GraphQL schema documents are validated against.
        rules: validation rules beyond graphql-core's specified ones.
        max_tokens: the parser stops a document past this many tokens.
        max_entries: how many documents are kept.

    Example:
        >>> from graphql import build_schema
        >>> documents = Documents(build_schema("type Query { a: Int }"), max_tokens=100)
        >>> documents.validate("{ a }", documents.parse("{ a }"))
        []
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        rules: Sequence[type[ASTValidationRule]] = (),
        *,
        max_tokens: int,
        max_entries: int = 1024,
    ) -> None:
        self.schema = schema
        self.rules = (*specified_rules, *rules)
        self.max_tokens = max_tokens
        self.max_entries = max_entries
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def parse(self, text: str) -> DocumentNode:
        """The document of ``text``.

        Raises:
            GraphQLRequestError: ``GRAPHQL_PARSE_FAILED``, or ``QUERY_TOO_LARGE``
                past ``max_tokens``.
        """
        entry = self._entries.get(text)
        if entry is not None:
            self._entries.move_to_end(text)
            return entry.document
        try:
            document = parse(text, max_tokens=self.max_tokens)
        except GraphQLSyntaxError as exc:
            code = (
                ErrorCode.QUERY_TOO_LARGE
                if _TOO_MANY_TOKENS in exc.message
                else ErrorCode.GRAPHQL_PARSE_FAILED
            )
            raise GraphQLRequestError.of([exc], code) from None
        self._entries[text] = _Entry(document)
        if len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return document

    def validate(self, text: str, document: DocumentNode) -> list[GraphQLError]:
        """The validation errors of the document parsed from ``text`` (empty: valid)."""
        entry = self._entries.get(text)
        if entry is None or entry.document is not document:
            return validate(self.schema, document, self.rules)
        if entry.errors is None:
            entry.errors = validate(self.schema, document, self.rules)
        return entry.errors


__all__ = ["Documents"]
