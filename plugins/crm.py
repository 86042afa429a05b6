"""The CRM bolt-on (``contracts/crm.openapi.yaml``) as a plugin.

Code, not a declaration, because the CRM also receives the core's business
events (the outbox, ``gateway.writes.outbox``) and answers one account per
call with a per-account failure slot. Its parts: the adapter
(``adapters.crm``), the simulator (``simulators.crm``), the
``CustomerInsights`` and ``Activity`` types (``schema.customer``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, SecretStr
from starlette.types import ASGIApp

from adapters.crm import CrmAdapter
from adapters.records import InsightsRecord
from gateway.caching.bolt_on import BoltOnCache, Operation, StaleSink
from gateway.security.clients import INSIGHTS_READ
from plugins.base import (
    BatchFunction,
    BoltOnPlugin,
    HasBoltOns,
    PluginLoader,
    adapter_of,
    cached_loader,
    per_key,
)

if TYPE_CHECKING:
    from simulators.crm import CrmState

#: An account's insights: cached; a changed customer is reported to the CRM, whose
#: insights may move, so a committed change of a customer makes them stale.
INSIGHTS: Operation[InsightsRecord] = Operation("crm", "getAccountInsights", InsightsRecord)
#: An account's recent activities: never cached (a log that moves all the time).
ACTIVITIES_LABEL = "crm.listAccountActivities"


class CrmSettings(BaseModel):
    """CRM bolt-on: where it is, its key, its call budget and concurrency."""

    crm_url: str = Field(default="http://127.0.0.1:8102", description="CRM bolt-on base URL.")
    crm_api_key: SecretStr | None = Field(default=None, description="CRM X-Api-Key.")
    crm_timeout: float = Field(default=2.0, gt=0, description="CRM call budget, seconds.")
    crm_concurrency: int = Field(
        default=16, ge=1, description="Concurrent CRM calls per gateway process (no batch read)."
    )


def crm_of(backends: HasBoltOns) -> CrmAdapter:
    """The process's CRM adapter (the outbox delivers events through it)."""
    return adapter_of(backends, PLUGIN.name, CrmAdapter)


def _adapter(settings: Any, options: dict[str, Any]) -> CrmAdapter:
    concurrency = settings.crm_concurrency
    options = {**options, "max_connections": max(options["max_connections"], concurrency)}
    return CrmAdapter(
        settings.crm_url, api_key=PLUGIN.secret(settings), concurrency=concurrency, **options
    )


def _simulator(secret: str, *, seed: int, seeded_orders: int) -> tuple[ASGIApp, CrmState]:
    # The simulators are imported only when one is built: a gateway serves without them.
    from simulators.crm import CrmState, create_crm_app

    state = CrmState(seed=seed)
    return create_crm_app(secret, state=state), state


def _activities(adapter: CrmAdapter, cache: BoltOnCache | None, stale: StaleSink) -> BatchFunction:
    """Keys are ``(account, limit)``: one call each, an account's failure in its slot."""

    def batch(keys: list[tuple[str, int]]) -> Any:
        return per_key(adapter.activities(account, limit) for account, limit in keys)

    return batch


PLUGIN = BoltOnPlugin(
    name="crm",
    title="CRM",
    contract="crm.openapi.yaml",
    settings=CrmSettings,
    credential_setting="crm_api_key",
    build_adapter=_adapter,
    build_simulator=_simulator,
    demo_port=8102,
    reads=(INSIGHTS,),
    uncached_reads=(ACTIVITIES_LABEL,),
    stale_on_change={"Customer": (INSIGHTS,)},
    # The outbox delivers the core's events to it: a committed write may move its answers.
    written=True,
    cache_ttl=120.0,
    costly_fields=frozenset({("Customer", "insights"), ("Customer", "activities")}),
    field_scopes={
        ("Customer", "insights"): INSIGHTS_READ,
        ("Customer", "activities"): INSIGHTS_READ,
    },
    loaders={
        "insights": cached_loader(INSIGHTS, lambda crm: crm.insights, metric="insights"),
        "activities": PluginLoader(ACTIVITIES_LABEL, _activities, metric="activities"),
    },
)
