"""Run a document through the gateway's execution steps against any schema, without HTTP.

For tests of one layer (masking, permissions) on a small strawberry schema:
the same ``Parse``/``Validate``/``Resolve`` steps and ``Execute`` the
gateway runs, with the given extra steps in between.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import strawberry
from starlette.requests import HTTPConnection

from gateway.errors import RequestRejected
from gateway.execution.documents import Documents
from gateway.execution.execute import Execute
from gateway.execution.prepare import Parse, Resolve, Validate
from gateway.pipeline import Exchange, GraphQLRequest, Reply, Step, Transport, chain
from gateway.security.clients import Identity


async def run_operation(
    schema: strawberry.Schema,
    query: str,
    *,
    context: Any,
    steps: Sequence[Step] = (),
    scopes: frozenset[str] = frozenset(),
    variables: dict[str, Any] | None = None,
) -> Reply:
    """The reply of ``query``; a refusal comes back as the reply's ``rejection``."""
    documents = Documents(schema._schema, max_tokens=10_000)
    handler = chain(
        [Parse(documents), Validate(documents), Resolve(schema._schema), *steps], Execute()
    )
    connection = HTTPConnection({"type": "http", "headers": [], "method": "POST", "path": "/"})
    exchange = Exchange(
        connection,
        Transport.POST,
        identity=Identity("test", scopes, "api_key"),
        params=GraphQLRequest(query, variables),
        context=context,
    )
    try:
        return await handler(exchange)
    except RequestRejected as exc:
        return Reply.refused(exc, exchange)
