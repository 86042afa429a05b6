"""HTTP hygiene: CORS allowlist, CSRF on GET, production mode, no secret in logs or responses."""

from __future__ import annotations

import logging
import time

import httpx
import jwt
import pytest
from pydantic import ValidationError

from gateway.settings import Settings
from simulators.runner import Simulators
from tests.support.gateway import TEST_API_KEY, bare_client, running_gateway, settings_for
from tests.support.simulators import CRM_API_KEY, PRICING_TOKEN, SHIPPING_TOKEN

QUERY = '{ product(sku: "SKU-00001") { sku } }'
ALLOWED = "https://app.example"
INSIGHTS = '{ customer(accountNumber: "C-000001") { insights { healthScore } } }'


async def test_cors_allows_listed_origins_only(sqlite_core: str, sims: Simulators) -> None:
    settings = settings_for(sqlite_core, sims, cors_origins=[ALLOWED])
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    async with running_gateway(settings) as gateway, bare_client(gateway) as client:
        ok = await client.options("/graphql", headers={"Origin": ALLOWED, **preflight})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == ALLOWED
        assert "authorization" in ok.headers["access-control-allow-headers"].lower()
        assert "access-control-allow-credentials" not in ok.headers
        evil = await client.options(
            "/graphql", headers={"Origin": "https://evil.example", **preflight}
        )
        assert evil.status_code == 400
        assert "access-control-allow-origin" not in evil.headers
        simple = await gateway.client.post(
            "/graphql", json={"query": QUERY}, headers={"Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in simple.headers


async def test_no_cors_headers_without_an_allowlist(sqlite_core: str, sims: Simulators) -> None:
    async with running_gateway(settings_for(sqlite_core, sims)) as gateway:
        response = await gateway.client.post(
            "/graphql", json={"query": QUERY}, headers={"Origin": ALLOWED}
        )
    assert "access-control-allow-origin" not in response.headers


def test_wildcard_origin_with_credentials_is_refused() -> None:
    with pytest.raises(ValidationError, match="wildcard"):
        Settings(cors_origins=["*"], cors_allow_credentials=True)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 200),  # curl: no browser markers
        ({"Origin": "https://evil.example"}, 403),
        ({"Cookie": "session=abc"}, 403),
        ({"Sec-Fetch-Site": "cross-site"}, 403),
        ({"Origin": "https://evil.example", "X-Requested-With": "XMLHttpRequest"}, 200),
        ({"Cookie": "session=abc", "Apollo-Require-Preflight": "true"}, 200),
        ({"Origin": ALLOWED, "GraphQL-Require-Preflight": "1"}, 200),
    ],
)
async def test_csrf_on_get(
    sqlite_core: str, sims: Simulators, headers: dict[str, str], status: int
) -> None:
    # Anonymous reads make the cross-site GET dangerous in the first place.
    settings = settings_for(sqlite_core, sims, anonymous_scopes=["core:read"])
    async with running_gateway(settings) as gateway, bare_client(gateway) as client:
        response = await client.get("/graphql", params={"query": QUERY}, headers=headers)
    assert response.status_code == status, response.text
    if status == 403:
        assert response.json()["errors"][0]["extensions"]["code"] == "CSRF_REJECTED"


async def test_production_mode(sqlite_core: str, sims: Simulators) -> None:
    settings = settings_for(sqlite_core, sims, env="production")
    async with running_gateway(settings) as gateway:
        page = await gateway.client.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 404
        introspection = await gateway.post("{ __schema { types { name } } }")
        assert "data" not in introspection
        assert introspection["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert "introspection" in introspection["errors"][0]["message"].lower()
        async with bare_client(gateway) as client:
            assert (await client.post("/graphql", json={"query": QUERY})).status_code == 401


async def test_development_serves_graphiql_without_a_key(gateway: object) -> None:
    from tests.support.gateway import Gateway

    assert isinstance(gateway, Gateway)
    async with bare_client(gateway) as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()


async def test_no_secret_in_logs_or_responses(
    sqlite_core: str, sims: Simulators, caplog: pytest.LogCaptureFixture
) -> None:
    hs_secret = "jwt-signing-secret-never-to-be-seen-0123456789"
    settings = settings_for(
        sqlite_core,
        sims,
        jwt_hs256_secret=hs_secret,
        pricing_token="wrong-pricing-token-must-not-leak",
    )
    expired = jwt.encode({"sub": "x", "exp": int(time.time()) - 120}, hs_secret, "HS256")
    wrong_key = "gwk_guessed-key-must-not-leak"
    responses: list[httpx.Response] = []
    with caplog.at_level(logging.DEBUG):
        async with running_gateway(settings) as gateway:
            joined = '{ product(sku: "SKU-00001") { sku unitCost price { listPrice } } }'
            sims.crm.state.configure(failure_rate=1.0)
            responses.append(await gateway.client.post("/graphql", json={"query": joined}))
            responses.append(
                await gateway.client.post(
                    "/graphql",
                    json={"query": INSIGHTS},
                )
            )
            async with bare_client(gateway, **{"X-Api-Key": wrong_key}) as client:
                responses.append(await client.post("/graphql", json={"query": QUERY}))
            async with bare_client(gateway, Authorization=f"Bearer {expired}") as client:
                responses.append(await client.post("/graphql", json={"query": QUERY}))
            responses.append(await gateway.client.post("/graphql", json={"query": "{ nope"}))
    # The syntax error is a request error: 200 under Accept: */* (answered as application/json).
    assert [r.status_code for r in responses] == [200, 200, 401, 401, 200]
    # The bolt-on with the wrong token failed (so its credential was in play).
    assert responses[0].json()["errors"][0]["extensions"]["service"] == "pricing"
    secrets = [
        TEST_API_KEY,
        hs_secret,
        expired,
        wrong_key,
        "wrong-pricing-token-must-not-leak",
        PRICING_TOKEN,
        CRM_API_KEY,
        SHIPPING_TOKEN,
    ]
    seen = caplog.text + "".join(r.text + str(r.headers) for r in responses)
    assert caplog.records, "the logs were captured"
    for secret in secrets:
        assert secret not in seen, f"a secret leaked: {secret[:6]}..."
