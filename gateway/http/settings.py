"""The settings of serving: the ``gateway serve`` process and what ``/graphql`` accepts.

Read by ``gateway.app`` (the ``/graphql`` chain, GraphiQL, introspection,
the Idempotency-Key store), ``gateway.http.server`` and ``gateway serve``.
Imports nothing of the gateway but ``gateway.shared_settings``; this
package's ``__init__`` does not import it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gateway.shared_settings import SharedSettings


class HttpSettings(SharedSettings):
    """Serving: `gateway serve`, request bounds, GraphiQL, introspection, idempotency keys."""

    compiled_execution: bool = Field(
        default=True,
        description="Run known queries from a compiled plan (the same results as graphql-core's "
        "executor with less work per field); false runs every operation on graphql-core.",
    )
    compiled_plans: int = Field(
        default=512, ge=1, description="How many compiled query plans a process keeps."
    )
    batch_max_operations: int = Field(
        # Apollo's BatchHttpLink sends at most 10 by default: it works unconfigured.
        default=10,
        ge=0,
        le=100,
        description="Most operations one batched POST (a JSON array) may hold; 0 refuses "
        "batches. Each operation is authorized, costed and rate-limited as if sent alone.",
    )
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest request body, bytes."
    )
    max_header_bytes: int = Field(
        default=32_768,
        ge=1024,
        description="Largest request head (request line and headers together), bytes; a "
        "larger one is answered 431 and the connection closed, before it is read whole.",
    )
    max_headers: int = Field(
        default=100, ge=10, description="Most header lines a request may carry (more: 431)."
    )

    graphiql: bool | None = Field(
        default=None, description="Serve GraphiQL; default: on in development, off in production."
    )
    introspection: bool | None = Field(
        default=None, description="Allow introspection; default: on in development only."
    )

    host: str = Field(default="127.0.0.1", description="`gateway serve` bind address.")
    port: int = Field(default=8000, ge=0, le=65535, description="`gateway serve` port.")
    workers: int = Field(default=1, ge=1, description="`gateway serve` worker processes.")
    http_implementation: Literal["auto", "httptools", "h11"] = Field(
        default="auto",
        description="`gateway serve`'s HTTP/1.1 parser: `auto` is httptools when installed, "
        "else h11. Either is held to `max_header_bytes`.",
    )
    http_keep_alive_seconds: int = Field(
        default=5,
        ge=1,
        le=3600,
        description=(
            "Seconds `gateway serve` keeps an idle client connection open; behind a load "
            "balancer, more than its idle timeout for upstream connections."
        ),
    )
    gc_tuning: bool = Field(
        default=True,
        description="Freeze the start-up heap; collect young garbage less often.",
    )
    gc_gen0_threshold: int = Field(
        default=50_000, ge=100, description="Allocations between young garbage collections."
    )

    idempotency_ttl: float = Field(
        default=86_400.0, gt=0, description="Seconds a client's Idempotency-Key is remembered."
    )
    idempotency_wait: float = Field(
        default=5.0, ge=0, description="Seconds a duplicate waits for its first request to end."
    )
    idempotency_lease: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a running request holds its Idempotency-Key without renewing it "
        "(it renews every third of that): a retry takes over the key of a request whose "
        "process died this long after its last renewal.",
    )

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql if self.graphiql is not None else self.env == "development"

    @property
    def introspection_enabled(self) -> bool:
        return self.introspection if self.introspection is not None else self.env == "development"
