"""The settings every wing may read, and the plain forms list and object settings accept.

``SharedSettings`` is the base of the wings' groups (``gateway.http.settings``,
``gateway.limits.settings``...): the deployment's ``env`` and its shared Redis.
``gateway.settings`` composes the groups into the one ``Settings``.

Imports nothing of the gateway: every group's module may import it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class SharedSettings(BaseModel):
    """Shared: the environment and the shared Redis, which every wing may read."""

    env: Literal["development", "production"] = Field(
        default="development",
        description="`production` turns off GraphiQL and introspection unless enabled.",
    )
    redis_url: str | None = Field(
        default=None, description="Redis URL for shared cache, rate limits and events."
    )


def comma_separated(value: Any) -> Any:
    """``a, b`` as ``["a", "b"]``; anything else unchanged (for ``mode="before"`` validators)."""
    # GATEWAY_CORS_ORIGINS=http://localhost:3000 is what anyone tries first.
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def name_value_pairs(value: Any) -> Any:
    """``pricing=60,crm=120`` as a mapping; anything but text unchanged.

    Raises:
        ValueError: text that is not name=value pairs.
    """
    if not isinstance(value, str):
        return value
    pairs: dict[str, str] = {}
    for item in value.split(","):
        name, equals, number = item.partition("=")
        if not equals or not name.strip():
            raise ValueError(
                'must be a JSON object ({"pricing": 60}) or name=value pairs (pricing=60,crm=120)'
            )
        pairs[name.strip()] = number.strip()
    return pairs
