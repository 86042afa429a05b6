"""The Idempotency-Key header: replay, reuse with other variables, concurrent duplicates."""

from __future__ import annotations

import asyncio
from typing import Any

from adapters.core.gateway_tables import idempotency_keys
from adapters.core.tables import customers
from gateway.security.clients import hash_key
from simulators.runner import Simulators
from tests.support.gateway import Gateway, client_config, running_gateway
from tests.support.mutations import CREATE_CUSTOMER
from tests.writes.support import SQLITE_ONLY, audit_rows, count, mutation_settings

NEW = {"name": "Idem Potent Ltd", "email": None, "segment": "SMB", "creditLimit": "100.00"}
OTHER_KEY = "gwk_second-client-key"


async def post(gateway: Gateway, key: str, variables: dict[str, Any], **headers: str) -> Any:
    return await gateway.client.post(
        "/graphql",
        json={"query": CREATE_CUSTOMER, "variables": variables},
        headers={"Idempotency-Key": key, **headers},
    )


async def test_a_repeat_replays_the_first_response(gateway: Gateway, core_url: str) -> None:
    first = await post(gateway, "key-0001", {"input": NEW})
    second = await post(gateway, "key-0001", {"input": NEW})

    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert first.json()["data"]["createCustomer"]["customer"]["accountNumber"] == "C-000021"
    assert await count(core_url, customers) == 21  # written once
    assert len(await audit_rows(core_url)) == 1


async def test_the_same_key_with_other_variables_is_refused(
    gateway: Gateway, core_url: str
) -> None:
    await post(gateway, "key-0002", {"input": NEW})

    reused = await post(gateway, "key-0002", {"input": {**NEW, "name": "Someone Else"}})

    assert reused.status_code == 422
    [error] = reused.json()["errors"]
    assert error["extensions"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert "different operation or variables" in error["message"]
    assert await count(core_url, customers) == 21


async def test_concurrent_duplicates_run_once(gateway: Gateway, core_url: str) -> None:
    responses = await asyncio.gather(*(post(gateway, "key-0003", {"input": NEW}) for _ in range(8)))

    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1  # the waiters replayed the winner
    assert sum(1 for r in responses if "idempotent-replayed" in r.headers) == 7
    assert await count(core_url, customers) == 21


async def test_keys_are_per_client_and_expire(core_url: str, sims: Simulators) -> None:
    second_client = client_config(id="second-client", key_hashes=[hash_key(OTHER_KEY)])
    settings = mutation_settings(
        core_url,
        sims,
        idempotency_ttl=0.3,
        clients=[client_config(), second_client],
    )
    async with running_gateway(settings) as gateway:
        await post(gateway, "key-0004", {"input": NEW})
        # Another client's identical key is its own.
        other = await post(gateway, "key-0004", {"input": NEW}, **{"X-Api-Key": OTHER_KEY})
        assert "idempotent-replayed" not in other.headers
        assert await count(core_url, customers) == 22
        await asyncio.sleep(0.4)
        # Expired: the key is free again, and runs again.
        again = await post(gateway, "key-0004", {"input": NEW})
        assert "idempotent-replayed" not in again.headers
        assert await count(core_url, customers) == 23
        assert await count(core_url, idempotency_keys) == 1  # the expired ones were purged


@SQLITE_ONLY
async def test_queries_and_requests_without_a_key_are_untouched(
    gateway: Gateway, core_url: str
) -> None:
    query = await gateway.client.post(
        "/graphql", json={"query": "{ warehouses { code } }"}, headers={"Idempotency-Key": "q-1"}
    )
    assert query.status_code == 200
    assert "idempotent-replayed" not in query.headers
    await gateway.post(CREATE_CUSTOMER, {"input": NEW})
    await gateway.post(CREATE_CUSTOMER, {"input": NEW})
    assert await count(core_url, customers) == 22
    assert await count(core_url, idempotency_keys) == 0
