"""The bolt-ons written in Python, registered with the gateway: the one list of them.

Each module holds one ``plugins.base.BoltOnPlugin``: Pricing,
CRM and Shipping are code because each does something a declaration
cannot (``Price.marginPct``; the outbox's event delivery; ``shipOrder``'s
write). A bolt-on that only joins its answers to the core needs no Python:
it is declared (``bolt-ons/``, docs/bolt-ons.md).

``BUILT_IN`` is what the gateway iterates (adapters, loaders, cache rules,
costs, scopes, probes, simulators); ``BuiltInSettings`` composes the
plugins' settings groups into ``gateway.settings.Settings``. Adding a code
plugin is a module here and a line in each.

May import ``adapters``, ``simulators``, ``gateway.caching.bolt_on`` and
``gateway.security.clients`` (leaves that import no registry); the gateway's
modules import this one.
"""

from __future__ import annotations

from plugins import crm, pricing, shipping
from plugins.base import BoltOnPlugin


class BuiltInSettings(pricing.PricingSettings, crm.CrmSettings, shipping.ShippingSettings):
    """The settings groups of the code plugins, one per bolt-on."""


#: The registered code plugins, in the order they are listed and probed.
BUILT_IN: tuple[BoltOnPlugin, ...] = (pricing.PLUGIN, crm.PLUGIN, shipping.PLUGIN)


def plugin_named(name: str) -> BoltOnPlugin:
    """The registered plugin called ``name``."""
    for plugin in BUILT_IN:
        if plugin.name == name:
            return plugin
    raise KeyError(f"no bolt-on plugin named {name!r}")


__all__ = ["BUILT_IN", "BuiltInSettings", "plugin_named"]
