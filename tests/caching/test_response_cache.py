"""The whole-response cache: hits skip execution; keys, lifetimes and invalidation."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.reads import CORE, mark, tracking
from gateway.caching.responses import ResponseCache, cache_key, several_workers_warning
from gateway.security.clients import hash_key
from gateway.settings import Settings
from simulators import world
from simulators.runner import Simulators
from tests.support.core import SeededCores
from tests.support.gateway import Gateway, client_config, running_gateway, settings_for
from tests.support.mutations import SHIP_ORDER, mutate
from tests.support.simulators import StartSimulators

PRICES = "pricing.listPrices"
SHIPMENTS = "shipping.listShipments"
FANOUT = """query($sku: String!, $order: String!) {
  product(sku: $sku) { sku price { listPrice marginPct } }
  customer(accountNumber: "C-000001") { insights { healthScore } }
  order(orderNumber: $order) { orderNumber status shipment { status } }
}"""
FANOUT_VARIABLES = {"sku": "SKU-00001", "order": "SO-000004"}


def key(query: str = "{ a }", **variables: Any) -> Any:
    return cache_key(query, None, variables or None, None, frozenset({"core:read"}))


# --- the cache itself ------------------------------------------------------------


def test_an_entry_lives_no_longer_than_the_shortest_ttl_of_what_it_read() -> None:
    cache = ResponseCache(ttl=5, include_core=True, read_ttls={PRICES: 60, SHIPMENTS: 2})
    assert cache.lifetime({CORE}) == 5
    assert cache.lifetime({CORE, PRICES}) == 5
    assert cache.lifetime({PRICES, SHIPMENTS}) == 2
    assert cache.lifetime({"crm.listAccountActivities"}) == 0, "a read with no TTL: never"


def test_a_response_that_read_the_core_is_kept_only_when_the_setting_says_so() -> None:
    cautious = ResponseCache(ttl=5, read_ttls={PRICES: 60})
    assert not cautious.store(key(), b"{}", {CORE, PRICES}, cost=1, operation=None, generation=0)
    assert cautious.store(key(), b"{}", {PRICES}, cost=1, operation=None, generation=0)
    assert len(cautious) == 1


async def test_entries_expire() -> None:
    cache = ResponseCache(ttl=0.05, include_core=True)
    assert cache.store(key(), b"{}", {CORE}, cost=1, operation=None, generation=0)
    assert cache.lookup(key()) is not None
    await asyncio.sleep(0.06)
    assert cache.lookup(key()) is None
    assert len(cache) == 0


def test_an_answer_computed_before_a_write_committed_is_not_kept() -> None:
    cache = ResponseCache(ttl=5, include_core=True)
    generation = cache.generation  # the query starts...
    cache.invalidate_writes()  # ...a write commits while it runs
    assert not cache.store(key(), b"{}", {CORE}, cost=1, operation=None, generation=generation)
    assert cache.lookup(key()) is None


def test_a_write_drops_what_it_can_change_and_keeps_price_only_entries() -> None:
    cache = ResponseCache(ttl=5, include_core=True, read_ttls={PRICES: 60, SHIPMENTS: 60})
    stored = {
        "core": {CORE},
        "shipments": {SHIPMENTS},
        "prices": {PRICES},
    }
    for name, reads in stored.items():
        assert cache.store(key(name), b"{}", reads, cost=1, operation=None, generation=0)
    assert cache.invalidate_writes() == 2
    assert cache.lookup(key("prices")) is not None
    assert cache.lookup(key("core")) is None and cache.lookup(key("shipments")) is None


def test_the_least_recently_used_entry_goes_first() -> None:
    cache = ResponseCache(ttl=5, max_entries=2, include_core=True)
    for name in ("a", "b"):
        cache.store(key(name), b"{}", {CORE}, cost=1, operation=None, generation=0)
    assert cache.lookup(key("a")) is not None  # "b" is now the least recently used
    cache.store(key("c"), b"{}", {CORE}, cost=1, operation=None, generation=0)
    assert cache.lookup(key("b")) is None
    assert cache.lookup(key("a")) is not None and cache.lookup(key("c")) is not None


def test_the_bytes_kept_are_bounded() -> None:
    cache = ResponseCache(ttl=5, include_core=True, max_bytes=10_000)
    assert not cache.store(key("big"), b"x" * 1_001, {CORE}, cost=1, operation=None, generation=0)
    for name in "abcdefghijkl":  # 12 x 1,000 bytes into a budget of 10,000
        assert cache.store(key(name), b"x" * 1_000, {CORE}, cost=1, operation=None, generation=0)
    assert cache.size == 10_000 and len(cache) == 10
    assert cache.lookup(key("a")) is None and cache.lookup(key("l")) is not None
    cache.store(key("l"), b"y" * 500, {CORE}, cost=1, operation=None, generation=0)  # replaced
    assert cache.size == 9_500
    cache.invalidate_writes()
    assert cache.size == 0 and len(cache) == 0


def test_the_key_holds_variables_in_any_order_and_the_scopes() -> None:
    one = cache_key("q", "Op", {"a": 1, "b": 2}, None, frozenset({"core:read"}))
    same = cache_key("q", "Op", {"b": 2, "a": 1}, None, frozenset({"core:read"}))
    assert one == same
    assert one != cache_key("q", "Op", {"a": 1, "b": 3}, None, frozenset({"core:read"}))
    assert one != cache_key("q", "Op", {"a": 1, "b": 2}, None, frozenset())
    assert one != cache_key("q", "Other", {"a": 1, "b": 2}, None, frozenset({"core:read"}))


async def test_reads_are_tracked_across_the_tasks_a_request_starts() -> None:
    async def batch() -> None:
        await asyncio.sleep(0)
        mark(PRICES)

    with tracking() as reads:
        mark(CORE)
        await asyncio.get_running_loop().create_task(batch())
    mark(SHIPMENTS)  # outside: recorded nowhere
    assert reads == {CORE, PRICES}


# --- through the gateway -----------------------------------------------------------


@pytest.fixture
async def core_url(cores: SeededCores, tmp_path: Path) -> str:
    """A seeded SQLite core of this test's own: some tests here write to it."""
    return await cores.sqlite(tmp_path)


@asynccontextmanager
async def cached_gateway(
    core_url: str, sims: Simulators, **overrides: Any
) -> AsyncIterator[Gateway]:
    values: dict[str, Any] = {
        "response_cache_enabled": True,
        "response_cache_include_core": True,
        "response_cache_ttl": 60,
        **overrides,
    }
    async with running_gateway(settings_for(core_url, sims, **values)) as gateway:
        yield gateway


def placed_order(index: int) -> str:
    """The index-th seeded placed order; each test ships its own (the simulators outlive tests)."""
    placed = (
        world.order_number(i)
        for i in range(1, 1001)
        if world.seeded_order_status(world.order_number(i)) == "placed"
    )
    return next(number for n, number in enumerate(placed) if n == index)


def backend_calls(sims: Simulators) -> int:
    return sum(
        sims_state.count(operation)
        for sims_state, operation in (
            (sims.pricing.state, "listPrices"),
            (sims.crm.state, "getAccountInsights"),
            (sims.shipping.state, "listShipments"),
        )
    )


async def raw(gateway: Gateway, query: str, variables: Any = None, **kw: Any) -> httpx.Response:
    return await gateway.client.post(
        "/graphql", json={"query": query, "variables": variables}, **kw
    )


async def test_a_repeated_query_is_answered_without_running_it(
    sims: Simulators, core_url: str
) -> None:
    # The bolt-on cache off: any execution would show as bolt-on calls.
    async with cached_gateway(core_url, sims, cache_enabled=False) as gateway:
        first = await raw(gateway, FANOUT, FANOUT_VARIABLES)
        calls, statements = backend_calls(sims), gateway.backends.core.statements
        second = await raw(gateway, FANOUT, FANOUT_VARIABLES)
        assert backend_calls(sims) == calls and gateway.backends.core.statements == statements
        other = await raw(gateway, FANOUT, {**FANOUT_VARIABLES, "sku": "SKU-00002"})
    assert first.status_code == second.status_code == 200
    assert "errors" not in first.json(), first.json()
    assert first.headers["x-response-cache"] == "miss"
    assert second.headers["x-response-cache"] == "hit"
    assert second.content == first.content
    assert other.headers["x-response-cache"] == "miss"
    assert other.json()["data"]["product"]["sku"] == "SKU-00002"
    assert calls == 3, "one call per bolt-on for the first request"


async def test_a_hit_is_logged_and_counted_as_one(
    sims: Simulators, core_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.access")
    async with cached_gateway(core_url, sims) as gateway:
        for _ in range(2):
            await raw(gateway, FANOUT, FANOUT_VARIABLES)
    lines = [r for r in caplog.records if r.name == "gateway.access"]
    assert [getattr(r, "response_cache", None) for r in lines] == [None, "hit"]
    assert lines[1].getMessage().endswith("response-cache=hit")
    assert lines[1].__dict__["backend_calls"] == 0


async def test_concurrent_identical_misses_run_the_query_once(
    sims: Simulators, core_url: str
) -> None:
    # The bolt-on cache off and slow bolt-ons: every execution would show as calls.
    for state in (sims.pricing.state, sims.crm.state, sims.shipping.state):
        state.configure(latency=0.2)
    async with cached_gateway(core_url, sims, cache_enabled=False) as gateway:
        answers = await asyncio.gather(*(raw(gateway, FANOUT, FANOUT_VARIABLES) for _ in range(20)))
    assert backend_calls(sims) == 3, "one execution: one call per bolt-on"
    assert {answer.content for answer in answers} == {answers[0].content}
    assert sorted(answer.headers["x-response-cache"] for answer in answers) == ["hit"] * 19 + [
        "miss"
    ]


async def test_followers_run_the_query_themselves_when_the_leaders_answer_is_not_kept(
    sims: Simulators, core_url: str
) -> None:
    sims.pricing.state.configure(latency=0.2, failure_rate=1.0)
    async with cached_gateway(core_url, sims, cache_enabled=False, retry_attempts=1) as gateway:
        answers = await asyncio.gather(*(raw(gateway, FANOUT, FANOUT_VARIABLES) for _ in range(3)))
    assert sims.pricing.state.count("listPrices") == 3
    for answer in answers:
        assert answer.json()["errors"][0]["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
        assert "x-response-cache" not in answer.headers


def test_several_workers_without_redis_are_warned_about() -> None:
    # `gateway serve` prints it once, before the workers start (tests/cli/test_commands.py).
    assert several_workers_warning(Settings(response_cache_enabled=True, workers=2)) == (
        "the response cache is on with 2 workers and no GATEWAY_REDIS_URL: a write drops "
        "the writing worker's entries only; the others' live until their TTL"
    )
    assert several_workers_warning(Settings(response_cache_enabled=True, workers=1)) is None
    assert (
        several_workers_warning(
            Settings(response_cache_enabled=True, workers=2, redis_url="redis://r:6379/0")
        )
        is None
    )


async def test_off_by_default_and_the_core_is_not_cached_unless_asked(
    sims: Simulators, core_url: str
) -> None:
    async with cached_gateway(core_url, sims, response_cache_enabled=False) as gateway:
        assert gateway.app.state.settings.response_cache_enabled is False
        await raw(gateway, FANOUT, FANOUT_VARIABLES)
        before = gateway.backends.core.statements
        again = await raw(gateway, FANOUT, FANOUT_VARIABLES)
        assert gateway.backends.core.statements > before
        assert "x-response-cache" not in again.headers
    async with cached_gateway(core_url, sims, response_cache_include_core=False) as gateway:
        await raw(gateway, FANOUT, FANOUT_VARIABLES)
        before = gateway.backends.core.statements
        again = await raw(gateway, FANOUT, FANOUT_VARIABLES)
        assert gateway.backends.core.statements > before, "it read the core: not kept"
        assert "x-response-cache" not in again.headers


async def test_callers_with_other_scopes_never_share_an_entry(
    sims: Simulators, core_url: str
) -> None:
    reader_key = "gwk_reader-without-margins"
    reader = client_config(
        id="reader", scopes=["core:read", "insights:read"], key_hashes=[hash_key(reader_key)]
    )
    async with cached_gateway(core_url, sims, clients=[client_config(), reader]) as gateway:
        full = await raw(gateway, FANOUT, FANOUT_VARIABLES)
        limited = await raw(gateway, FANOUT, FANOUT_VARIABLES, headers={"X-Api-Key": reader_key})
    assert full.json()["data"]["product"]["price"]["marginPct"] is not None
    assert "x-response-cache" not in limited.headers, "its response has errors: not kept"
    assert limited.json()["data"]["product"]["price"]["marginPct"] is None
    assert [e["extensions"]["code"] for e in limited.json()["errors"]] == ["FORBIDDEN"]


async def test_responses_with_errors_or_from_mutations_are_not_kept(
    sims: Simulators, core_url: str
) -> None:
    async with cached_gateway(core_url, sims, cache_enabled=False, retry_attempts=1) as gateway:
        sims.pricing.state.configure(failure_rate=1.0)
        failed = await raw(gateway, FANOUT, FANOUT_VARIABLES)
        sims.pricing.state.configure(failure_rate=0.0)
        recovered = await raw(gateway, FANOUT, FANOUT_VARIABLES)
        mutation = (
            "mutation($i: OrderNumberInput!) { cancelOrder(input: $i) { userErrors { code } } }"
        )
        variables = {"i": {"orderNumber": "SO-999999"}}
        answers = [await raw(gateway, mutation, variables) for _ in range(2)]
    assert failed.json()["errors"][0]["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
    assert "x-response-cache" not in failed.headers
    assert recovered.headers["x-response-cache"] == "miss"
    assert recovered.json()["data"]["product"]["price"] is not None
    assert all("x-response-cache" not in answer.headers for answer in answers)


async def test_a_committed_write_drops_the_responses_it_changes(
    start_simulators: StartSimulators, core_url: str
) -> None:
    sims = start_simulators()  # it ships a seeded order: simulators of its own
    placed = placed_order(2)
    status = "query($n: String!) { order(orderNumber: $n) { status shipment { status } } }"
    async with cached_gateway(core_url, sims) as gateway:
        before = await raw(gateway, status, {"n": placed})
        assert (await raw(gateway, status, {"n": placed})).headers["x-response-cache"] == "hit"
        shipped = await mutate(gateway, SHIP_ORDER, {"orderNumber": placed})
        assert shipped["userErrors"] == []
        after = await raw(gateway, status, {"n": placed})
    assert before.json()["data"]["order"] == {"status": "PLACED", "shipment": None}
    assert after.headers["x-response-cache"] == "miss"
    assert after.json()["data"]["order"] == {
        "status": "SHIPPED",
        "shipment": {"status": "LABEL_CREATED"},
    }


async def test_a_cached_answer_still_costs_its_rate_budget(sims: Simulators, core_url: str) -> None:
    async with cached_gateway(core_url, sims) as gateway:
        asked = {"query": FANOUT, "variables": FANOUT_VARIABLES, "extensions": {"cost": True}}
        cost = (await gateway.client.post("/graphql", json=asked)).json()["extensions"]["cost"]
    # A budget of three and a half runs, refilled far slower than the test takes.
    budget = {"rate_limit_burst": int(cost["requested"] * 3.5), "rate_limit_per_second": 0.001}
    async with cached_gateway(core_url, sims, rate_limit_enabled=True, **budget) as gw:
        answers = [await raw(gw, FANOUT, FANOUT_VARIABLES) for _ in range(5)]
    statuses = [answer.status_code for answer in answers]
    assert statuses == [200, 200, 200, 429, 429]
    assert [answer.headers.get("x-response-cache") for answer in answers[:3]] == [
        "miss",
        "hit",
        "hit",
    ]
    assert answers[3].json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert int(answers[3].headers["retry-after"]) >= 1


@pytest.mark.redis
async def test_a_write_on_one_instance_drops_the_other_instances_entries(
    start_simulators: StartSimulators, core_url: str, redis_url: str, namespace: str
) -> None:
    sims = start_simulators()  # it ships a seeded order: simulators of its own
    placed = placed_order(3)
    status = "query($n: String!) { order(orderNumber: $n) { status } }"
    options: dict[str, Any] = {
        "response_cache_enabled": True,
        "response_cache_include_core": True,
        "response_cache_ttl": 60,
        "redis_url": redis_url,
        "cache_namespace": namespace,
        "response_cache_channel": f"{namespace}:responses",
        "events_channel": f"{namespace}:events",
        "outbox_dispatcher": False,
    }
    async with (
        running_gateway(settings_for(core_url, sims, **options)) as writer,
        running_gateway(settings_for(core_url, sims, **options)) as reader,
    ):
        await raw(reader, status, {"n": placed})
        assert (await raw(reader, status, {"n": placed})).headers["x-response-cache"] == "hit"
        shipped = await mutate(writer, SHIP_ORDER, {"orderNumber": placed})
        assert shipped["userErrors"] == []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            after = await raw(reader, status, {"n": placed})
            if after.headers.get("x-response-cache") != "hit":
                break
            await asyncio.sleep(0.02)
    assert after.json()["data"]["order"]["status"] == "SHIPPED"
