"""Trusted documents: APQ (miss, register, hit, GET, mismatch, shared in Redis) and allowlists."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.security.clients import hash_key
from gateway.settings import Settings
from simulators.runner import Simulators
from tests.support.gateway import Gateway, bare_client, client_config, running_gateway, settings_for

QUERY = '{ product(sku: "SKU-00003") { sku } }'
REGISTERED = "query Product($sku: String!) { product(sku: $sku) { sku name } }\n"
PARTNER_KEY = "gwk_allowlisted-partner-key"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _apq(digest: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


async def test_apq_miss_register_hit(gateway: Gateway) -> None:
    digest = _sha(QUERY)
    miss = await gateway.client.post("/graphql", json={"extensions": _apq(digest)})
    assert miss.status_code == 200
    assert miss.json()["errors"][0] == {
        "message": "PersistedQueryNotFound",
        "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
    }
    register = await gateway.client.post(
        "/graphql", json={"query": QUERY, "extensions": _apq(digest)}
    )
    assert register.json() == {"data": {"product": {"sku": "SKU-00003"}}}
    hit = await gateway.client.post("/graphql", json={"extensions": _apq(digest)})
    assert hit.json() == {"data": {"product": {"sku": "SKU-00003"}}}
    by_get = await gateway.client.get(
        "/graphql",
        params={"extensions": f'{{"persistedQuery": {{"version": 1, "sha256Hash": "{digest}"}}}}'},
    )
    assert by_get.status_code == 200
    assert by_get.json() == {"data": {"product": {"sku": "SKU-00003"}}}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"query": QUERY, "extensions": _apq(_sha(QUERY + " "))}, "does not match"),
        ({"extensions": {"persistedQuery": {"version": 2, "sha256Hash": _sha(QUERY)}}}, "version"),
        ({"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "abc"}}}, "sha256Hash"),
    ],
)
async def test_apq_bad_requests(gateway: Gateway, body: dict[str, Any], fragment: str) -> None:
    response = await gateway.client.post("/graphql", json=body)
    assert response.status_code == 400
    assert fragment in response.json()["errors"][0]["message"]


async def test_apq_unauthenticated_cannot_register(gateway: Gateway) -> None:
    digest = _sha(QUERY + "#anon")
    async with bare_client(gateway) as client:
        response = await client.post(
            "/graphql", json={"query": QUERY + "#anon", "extensions": _apq(digest)}
        )
    assert response.status_code == 401
    miss = await gateway.client.post("/graphql", json={"extensions": _apq(digest)})
    assert miss.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_apq_shared_through_redis(
    sqlite_core: str, sims: Simulators, redis_url: str, namespace: str
) -> None:
    settings = settings_for(
        sqlite_core,
        sims,
        redis_url=redis_url,
        apq_key_prefix=f"{namespace}:",
        rate_limit_key_prefix=f"{namespace}:rl:",
    )
    digest = _sha(QUERY)
    async with running_gateway(settings) as first, running_gateway(settings) as second:
        await first.client.post("/graphql", json={"query": QUERY, "extensions": _apq(digest)})
        hit = await second.client.post("/graphql", json={"extensions": _apq(digest)})
    assert hit.json() == {"data": {"product": {"sku": "SKU-00003"}}}


@pytest.fixture
def documents(tmp_path: Path) -> Path:
    folder = tmp_path / "documents"
    (folder / "partner").mkdir(parents=True)
    (folder / "partner" / "product.graphql").write_text(REGISTERED)
    return folder


@pytest.fixture
def allowlist_settings(sqlite_core: str, sims: Simulators, documents: Path) -> Settings:
    partner = client_config(id="partner", key_hashes=[hash_key(PARTNER_KEY)], allowlist_only=True)
    return settings_for(
        sqlite_core, sims, clients=[client_config(), partner], persisted_documents_dir=documents
    )


async def _as_partner(settings: Settings, body: dict[str, Any]) -> httpx.Response:
    async with (
        running_gateway(settings) as gateway,
        bare_client(gateway, **{"X-Api-Key": PARTNER_KEY}) as client,
    ):
        return await client.post("/graphql", json=body)


async def test_allowlist_refuses_other_operations(allowlist_settings: Settings) -> None:
    response = await _as_partner(allowlist_settings, {"query": QUERY})
    assert response.status_code == 403
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "OPERATION_NOT_ALLOWED"
    assert "registered operations" in error["message"]
    # Nor can the partner register a new one through APQ.
    apq = await _as_partner(allowlist_settings, {"query": QUERY, "extensions": _apq(_sha(QUERY))})
    assert apq.status_code == 403


async def test_allowlist_runs_registered_operations(allowlist_settings: Settings) -> None:
    variables = {"sku": "SKU-00004"}
    by_hash = await _as_partner(
        allowlist_settings, {"extensions": _apq(_sha(REGISTERED)), "variables": variables}
    )
    assert by_hash.status_code == 200, by_hash.text
    assert by_hash.json()["data"]["product"]["sku"] == "SKU-00004"
    by_text = await _as_partner(allowlist_settings, {"query": REGISTERED, "variables": variables})
    assert by_text.json()["data"]["product"]["sku"] == "SKU-00004"


async def test_registered_documents_serve_everyone_by_hash(allowlist_settings: Settings) -> None:
    async with running_gateway(allowlist_settings) as gateway:
        response = await gateway.client.post(
            "/graphql",
            json={"extensions": _apq(_sha(REGISTERED)), "variables": {"sku": "SKU-00005"}},
        )
    assert response.json()["data"]["product"]["sku"] == "SKU-00005"
