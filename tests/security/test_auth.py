"""Identities: API keys (hashed, revocable) and JWTs (HS256, RS256, claims checked)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest

from gateway.security.auth import Authenticator, AuthError
from gateway.security.clients import ALL_SCOPES, hash_key, new_key
from gateway.settings import Settings
from simulators.runner import Simulators
from tests.security.support import RsaKeys
from tests.support.gateway import (
    TEST_API_KEY,
    bare_client,
    client_config,
    running_gateway,
    settings_for,
)

QUERY = {"query": '{ product(sku: "SKU-00001") { sku } }'}
HS_SECRET = "hs256-test-secret-that-is-long-enough-0123456789"
AUDIENCE = "boltgate"
ISSUER = "https://idp.test"
REVOKED_KEY = "gwk_revoked-client-key"


def _token(key: str, algorithm: str, **claims: Any) -> str:
    now = int(time.time())
    payload: dict[str, Any] = {
        "sub": "partner-jwt",
        "scope": "core:read insights:read",
        "aud": AUDIENCE,
        "iss": ISSUER,
        "iat": now,
        "exp": now + 300,
        **claims,
    }
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, key, algorithm)


@pytest.fixture
def auth_settings(sqlite_core: str, sims: Simulators, rsa_keys: RsaKeys) -> Settings:
    return settings_for(
        sqlite_core,
        sims,
        clients=[
            client_config(),
            {
                "id": "gone",
                "scopes": ["core:read"],
                "key_hashes": [hash_key(REVOKED_KEY)],
                "revoked": True,
            },
        ],
        jwt_hs256_secret=HS_SECRET,
        jwt_rs256_public_key=rsa_keys.public_pem,
        jwt_audience=AUDIENCE,
        jwt_issuer=ISSUER,
        jwt_leeway_seconds=0,
    )


async def _post(settings: Settings, **headers: str) -> httpx.Response:
    async with running_gateway(settings) as gateway, bare_client(gateway, **headers) as client:
        return await client.post("/graphql", json=QUERY)


def _assert_401(response: httpx.Response, fragment: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith('Bearer realm="gateway"')
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert fragment in error["message"]
    assert "data" not in response.json() or response.json()["data"] is None


async def test_no_credential_is_401_with_a_challenge(auth_settings: Settings) -> None:
    _assert_401(await _post(auth_settings), "authentication required")


@pytest.mark.parametrize("header", ["X-Api-Key", "Authorization"])
async def test_valid_key_in_either_header(auth_settings: Settings, header: str) -> None:
    value = TEST_API_KEY if header == "X-Api-Key" else f"Bearer {TEST_API_KEY}"
    response = await _post(auth_settings, **{header: value})
    assert response.status_code == 200
    assert response.json() == {"data": {"product": {"sku": "SKU-00001"}}}


async def test_bad_key_is_401_and_not_echoed(auth_settings: Settings) -> None:
    response = await _post(auth_settings, **{"X-Api-Key": "gwk_not-a-real-key-123"})
    _assert_401(response, "not valid")
    assert "gwk_not-a-real-key-123" not in response.text


async def test_revoked_key_is_401(auth_settings: Settings) -> None:
    _assert_401(await _post(auth_settings, **{"X-Api-Key": REVOKED_KEY}), "revoked")


async def test_other_authorization_scheme_is_401(auth_settings: Settings) -> None:
    _assert_401(await _post(auth_settings, Authorization="Basic dXNlcjpwdw=="), "Bearer")


@pytest.mark.parametrize("algorithm", ["HS256", "RS256"])
async def test_valid_jwt(auth_settings: Settings, rsa_keys: RsaKeys, algorithm: str) -> None:
    key = HS_SECRET if algorithm == "HS256" else rsa_keys.private_pem
    response = await _post(auth_settings, Authorization=f"Bearer {_token(key, algorithm)}")
    assert response.status_code == 200, response.text
    assert response.json()["data"]["product"]["sku"] == "SKU-00001"


@pytest.mark.parametrize("algorithm", ["HS256", "RS256"])
@pytest.mark.parametrize(
    ("claims", "fragment"),
    [
        ({"exp": int(time.time()) - 60}, "expired"),
        ({"aud": "someone-else"}, "aud"),
        ({"iss": "https://evil.test"}, "iss"),
        ({"nbf": int(time.time()) + 3600}, "nbf"),
        ({"exp": None}, "'exp'"),
    ],
)
async def test_bad_jwt_claims_are_401(
    auth_settings: Settings,
    rsa_keys: RsaKeys,
    algorithm: str,
    claims: dict[str, Any],
    fragment: str,
) -> None:
    key = HS_SECRET if algorithm == "HS256" else rsa_keys.private_pem
    token = _token(key, algorithm, **claims)
    response = await _post(auth_settings, Authorization=f"Bearer {token}")
    _assert_401(response, fragment)
    assert token not in response.text


async def test_jwt_signed_with_another_key_is_401(
    auth_settings: Settings, other_rsa_keys: RsaKeys
) -> None:
    forged = _token(other_rsa_keys.private_pem, "RS256")
    _assert_401(await _post(auth_settings, Authorization=f"Bearer {forged}"), "signature")
    wrong_secret = _token("another-secret-that-is-also-long-enough-0123", "HS256")
    _assert_401(await _post(auth_settings, Authorization=f"Bearer {wrong_secret}"), "signature")


async def test_unsigned_jwt_is_401(auth_settings: Settings) -> None:
    unsigned = jwt.encode({"sub": "x", "exp": int(time.time()) + 60}, "", "none")
    _assert_401(await _post(auth_settings, Authorization=f"Bearer {unsigned}"), "not accepted")


def test_jwt_scopes_are_capped_by_the_configured_client() -> None:
    authenticator = Authenticator(
        clients=[Settings(clients=[{"id": "partner-jwt", "scopes": ["core:read"]}]).clients[0]],
        anonymous_scopes=frozenset(),
        hs256_secret=HS_SECRET,
        rs256_public_key=None,
        audience=AUDIENCE,
        issuer=ISSUER,
        leeway=0,
    )
    token = _token(HS_SECRET, "HS256", scope="core:read margins:read orders:write")
    identity = authenticator.authenticate({"authorization": f"Bearer {token}"})
    assert identity is not None
    assert identity.client_id == "partner-jwt"
    assert identity.scopes == frozenset({"core:read"})
    stranger = _token(HS_SECRET, "HS256", sub="stranger", scope="margins:read bogus:scope")
    other = authenticator.authenticate({"authorization": f"Bearer {stranger}"})
    assert other is not None and other.scopes == frozenset({"margins:read"})


def test_keys_are_stored_hashed_and_new_keys_differ() -> None:
    key = new_key()
    assert key.startswith("gwk_") and len(key) > 40
    assert hash_key(key).startswith("sha256:") and key not in hash_key(key)
    assert new_key() != key
    settings = Settings(clients=[{"id": "a", "scopes": [], "key_hashes": [hash_key(key)]}])
    authenticator = Authenticator.from_settings(settings)
    assert authenticator.authenticate({"x-api-key": key}) is not None
    with pytest.raises(AuthError):
        authenticator.authenticate({"x-api-key": key + "x"})


def test_settings_refuse_unknown_scopes_and_bad_hashes() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="unknown scopes"):
        Settings(clients=[{"id": "a", "scopes": ["core:reed"]}])  # a built-in scope's typo
    with pytest.raises(ValidationError, match="unknown scopes"):
        Settings(clients=[{"id": "a", "scopes": ["admin all"]}])  # not a scope at all
    # A scope a bolt-on could declare passes the settings; without a declaration naming
    # it, the app refuses to start.
    undeclared = Settings(clients=[{"id": "a", "scopes": ["admin:all"]}])
    with pytest.raises(ValueError, match="'admin:all', which neither the gateway nor a declared"):
        Authenticator.from_settings(undeclared)
    assert Authenticator.from_settings(undeclared, extra_scopes=frozenset({"admin:all"}))
    with pytest.raises(ValidationError, match="sha256"):
        Settings(clients=[{"id": "a", "key_hashes": ["plain-text-key"]}])


async def test_anonymous_scopes_in_development_only(sqlite_core: str, sims: Simulators) -> None:
    dev = settings_for(sqlite_core, sims, anonymous_scopes=["core:read"])
    assert (await _post(dev)).status_code == 200
    prod = settings_for(sqlite_core, sims, env="production", anonymous_scopes=["core:read"])
    _assert_401(await _post(prod), "authentication required")
    assert sorted(ALL_SCOPES) == sorted(client_config()["scopes"])
