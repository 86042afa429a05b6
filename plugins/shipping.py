"""The Shipping & Logistics bolt-on (``contracts/shipping.openapi.yaml``) as a plugin.

Code, not a declaration, because ``shipOrder`` writes to it (an idempotent
shipment creation, ``gateway.writes.orders``). Its parts: the adapter
(``adapters.shipping``), the simulator (``simulators.shipping``), the
``Shipment`` and ``TrackingEvent`` types (``schema.shipment``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, SecretStr
from starlette.types import ASGIApp

from adapters.records import ShipmentRecord
from adapters.shipping import ShippingAdapter
from gateway.caching.bolt_on import BoltOnCache, Operation, StaleSink
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
    from simulators.shipping import ShippingState

#: The shipment of each order: cached; a shipped order has a shipment now (cached
#: as "none" until then), so a committed change of an order makes it stale.
SHIPMENTS: Operation[ShipmentRecord] = Operation("shipping", "listShipments", ShipmentRecord)
#: A shipment's tracking events: never cached.
TRACKING_LABEL = "shipping.listTrackingEvents"


class ShippingSettings(BaseModel):
    """Shipping bolt-on: where it is, its credential, its call budget."""

    shipping_url: str = Field(
        default="http://127.0.0.1:8103", description="Shipping bolt-on base URL."
    )
    shipping_token: SecretStr | None = Field(default=None, description="Shipping bearer token.")
    shipping_timeout: float = Field(default=2.0, gt=0, description="Shipping call budget, seconds.")


def shipping_of(backends: HasBoltOns) -> ShippingAdapter:
    """The process's Shipping adapter (``shipOrder`` creates shipments through it)."""
    return adapter_of(backends, PLUGIN.name, ShippingAdapter)


def _adapter(settings: Any, options: dict[str, Any]) -> ShippingAdapter:
    return ShippingAdapter(settings.shipping_url, token=PLUGIN.secret(settings), **options)


def _simulator(secret: str, *, seed: int, seeded_orders: int) -> tuple[ASGIApp, ShippingState]:
    # The simulators are imported only when one is built: a gateway serves without them.
    from simulators.shipping import ShippingState, create_shipping_app

    state = ShippingState(seed=seed)
    return create_shipping_app(secret, state=state, seeded_orders=seeded_orders), state


def _tracking(
    adapter: ShippingAdapter, cache: BoltOnCache | None, stale: StaleSink
) -> BatchFunction:
    def batch(keys: list[str]) -> Any:
        return per_key(adapter.tracking_events(key) for key in keys)

    return batch


PLUGIN = BoltOnPlugin(
    name="shipping",
    title="Shipping",
    contract="shipping.openapi.yaml",
    settings=ShippingSettings,
    credential_setting="shipping_token",
    build_adapter=_adapter,
    build_simulator=_simulator,
    demo_port=8103,
    reads=(SHIPMENTS,),
    uncached_reads=(TRACKING_LABEL,),
    stale_on_change={"Order": (SHIPMENTS,)},
    # shipOrder creates shipments: a committed write may move its answers.
    written=True,
    cache_ttl=15.0,
    costly_fields=frozenset({("Order", "shipment")}),
    loaders={
        "shipment": cached_loader(
            SHIPMENTS, lambda shipping: shipping.shipments, metric="shipments"
        ),
        "tracking_events": PluginLoader(TRACKING_LABEL, _tracking, metric="tracking"),
    },
)
