"""The code plugins are units: registered once, and nothing else in the gateway names them."""

from __future__ import annotations

import ast
from pathlib import Path

import httpx
import pytest

from gateway.backends import Backends, cache_policies
from gateway.caching.responses import WRITE_SENSITIVE_PREFIXES
from gateway.cli.settings_doc import env_name
from gateway.limits.cost import BOLT_ON_FIELDS
from gateway.security.permissions import FIELD_SCOPES
from gateway.settings import Settings
from plugins import BUILT_IN, plugin_named
from plugins import pricing as pricing_plugin
from simulators.runner import Simulators

ROOT = Path(__file__).resolve().parents[2]
NAMES = frozenset(plugin.name for plugin in BUILT_IN)
#: The modules that are a plugin's own code (its use cases take its adapter by type).
OWN_CODE = {
    "gateway/writes/orders.py",  # placeOrder's quote (Pricing), shipOrder's shipment (Shipping)
    "gateway/writes/outbox.py",  # the event feed to the CRM
}


def _names_used(path: Path) -> list[str]:
    """String literals equal to a plugin's name, and attributes called after one."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and node.value in NAMES:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}")
        elif isinstance(node, ast.Attribute) and node.attr in NAMES:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}")
    return found


def test_no_gateway_module_names_a_bolt_on() -> None:
    """Adapters, loaders, caches, costs, scopes, probes and the CLI iterate the registry."""
    used = [
        hit
        for path in sorted((ROOT / "gateway").rglob("*.py"))
        if str(path.relative_to(ROOT)) not in OWN_CODE
        for hit in _names_used(path)
    ]
    assert used == []


def test_the_registry_lists_three_plugins_with_distinct_names_and_ports() -> None:
    assert [plugin.name for plugin in BUILT_IN] == ["pricing", "crm", "shipping"]
    assert len({plugin.demo_port for plugin in BUILT_IN}) == len(BUILT_IN)
    assert plugin_named("crm").title == "CRM"
    with pytest.raises(KeyError, match="no bolt-on plugin named 'loyalty'"):
        plugin_named("loyalty")


def test_the_plugins_settings_keep_their_binding_names() -> None:
    """``GATEWAY_PRICING_URL``, ``GATEWAY_CRM_API_KEY``...: others configure against them."""
    for plugin in BUILT_IN:
        own = set(plugin.settings.model_fields)
        assert {plugin.url_setting, plugin.timeout_setting, plugin.credential_setting} <= own
        assert own <= set(Settings.model_fields)
    assert plugin_named("crm").credential_variable == env_name("crm_api_key")
    assert env_name("pricing_url") == "GATEWAY_PRICING_URL"


def test_what_the_plugins_declare_reaches_the_shared_machinery() -> None:
    assert ("Product", "price") in BOLT_ON_FIELDS
    assert {("Customer", "insights"), ("Order", "shipment")} <= BOLT_ON_FIELDS
    assert FIELD_SCOPES[("Customer", "insights")] == "insights:read"
    assert FIELD_SCOPES[("Price", "marginPct")] == "margins:read"
    # Written to (the outbox, shipOrder): a committed write stales what read them.
    assert "crm." in WRITE_SENSITIVE_PREFIXES and "shipping." in WRITE_SENSITIVE_PREFIXES
    assert "pricing." not in WRITE_SENSITIVE_PREFIXES


def test_a_cache_ttl_not_named_keeps_the_plugins_own() -> None:
    """Naming one service's TTL leaves the others' defaults alone."""
    policies = cache_policies(Settings(cache_ttls={"pricing": 5}, bolt_ons_dir=None))
    assert policies["pricing.listPrices"].ttl == 5
    assert policies["crm.getAccountInsights"].ttl == plugin_named("crm").cache_ttl == 120
    assert policies["shipping.listShipments"].ttl == 15
    off = cache_policies(Settings(cache_ttls={"shipping.listShipments": 0}, bolt_ons_dir=None))
    assert off["shipping.listShipments"].ttl == 0


async def test_backends_hold_one_adapter_per_plugin() -> None:
    settings = Settings(pricing_token="t", bolt_ons_dir=None, cache_enabled=False)
    backends = Backends.from_settings(settings)
    assert list(backends.built_in) == ["pricing", "crm", "shipping"]
    assert backends.bolt_on("pricing") is backends.pricing
    assert [adapter.service for adapter in backends.bolt_ons] == ["pricing", "crm", "shipping"]
    with pytest.raises(KeyError, match="no bolt-on named 'loyalty'"):
        backends.bolt_on("loyalty")
    with pytest.raises(AttributeError):
        _ = backends.loyalty
    await backends.aclose()


def test_simulators_need_a_secret_for_every_plugin() -> None:
    with pytest.raises(ValueError, match="no secret for the simulator of crm, shipping"):
        Simulators(secrets={"pricing": "p"})


def test_simulators_serve_only_the_plugins_given() -> None:
    with Simulators.start_in_thread(
        secrets={"pricing": "p"}, plugins=(pricing_plugin.PLUGIN,)
    ) as sims:
        assert list(sims.built_in) == ["pricing"]
        answer = httpx.get(
            f"{sims.pricing.url}/v1/prices",
            params={"sku": "SKU-00001"},
            headers={"Authorization": "Bearer p"},
        )
        assert answer.status_code == 200
        assert answer.json()["items"][0]["sku"] == "SKU-00001"
        assert sims.pricing.state.count("listPrices") == 1
