"""The settings of what one request may cost: document limits, query cost, rate budgets.

Read by ``ShapeLimits``, ``CostModel`` and ``RateLimiter`` (each
``from_settings``) and by the list resolvers (page sizes). Imports nothing of
the gateway but ``gateway.shared_settings``; this package's ``__init__`` does
not import it.
"""

from __future__ import annotations

from pydantic import Field

from gateway.shared_settings import SharedSettings


class LimitsSettings(SharedSettings):
    """Limits: page sizes, the shape and cost of a query, per-client rate limits."""

    max_page_size: int = Field(default=100, ge=1, description="Largest `first` a list accepts.")
    default_page_size: int = Field(default=20, ge=1, description="`first` when a client omits it.")
    max_query_depth: int = Field(default=12, ge=1, description="Deepest selection accepted.")
    max_query_aliases: int = Field(default=30, ge=0, description="Most aliases in a document.")
    max_query_tokens: int = Field(default=2000, ge=10, description="Most tokens in a document.")
    max_fragment_spreads: int = Field(
        default=500,
        ge=0,
        description="Most fragment spreads an operation may expand to (a spread counts once "
        "for every place its fragment lands).",
    )
    max_field_merges: int = Field(
        default=2_000,
        ge=0,
        description="Most pairs of same-named fields (a field repeated, or selected again by "
        "fragments) a document may ask validation to check can be merged.",
    )
    max_query_cost: int = Field(default=50_000, ge=1, description="Highest computed cost run.")
    list_cost_estimate: int = Field(
        default=10, ge=1, description="Assumed length of a list field without `first`/`limit`."
    )
    bolt_on_field_cost: int = Field(
        default=10, ge=1, description="Cost of one bolt-on field (a core field costs 1)."
    )
    rate_limit_enabled: bool = Field(default=True, description="Cost-weighted rate limits.")
    rate_limit_burst: int = Field(
        default=200_000, ge=1, description="Cost a client may spend at once (bucket size)."
    )
    rate_limit_per_second: float = Field(
        default=2_000.0, gt=0, description="Cost a client's bucket regains per second."
    )
    rate_limit_key_prefix: str = Field(
        default="gw:rl:", description="Redis key prefix of the shared rate-limit buckets."
    )
