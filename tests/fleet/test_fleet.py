"""A fleet behaves as one: three ``gateway serve`` processes behind HAProxy, under steady load.

Each test drives a keep-alive load (``fleet.load.Load``, a process of its
own, 16 requests in flight) through HAProxy while it does one thing to the
fleet, and counts every non-2xx answer and every connection error.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import func, select

from adapters.core.gateway_tables import outbox
from adapters.core.tables import customers
from fleet.cluster import Fleet, Instance
from fleet.load import Load
from simulators import world
from tests.fleet.support import FIGURES
from tests.support.mutations import CREATE_CUSTOMER, CREATE_ORDER, PLACE_ORDER
from tests.writes.support import rows, scalar

pytestmark = [pytest.mark.fleet, pytest.mark.postgres, pytest.mark.redis]

CONCURRENCY = 16
#: Requests per second in all: steady, and leaving the CPU room to restart instances.
RATE = 25.0


@contextmanager
def load_on(fleet: Fleet, url: str, **options: Any) -> Iterator[Load]:
    options.setdefault("rate", RATE)
    load = Load(url, headers=fleet.headers("load"), concurrency=CONCURRENCY, **options)
    load.start()
    try:
        yield load
    finally:
        load.stop()


def post(
    url: str,
    fleet: Fleet,
    document: str,
    variables: dict[str, Any] | None = None,
    *,
    client: str = "probe",
    **extra: Any,
) -> httpx.Response:
    return httpx.post(
        f"{url}/graphql",
        json={"query": document, "variables": variables or {}, **extra},
        headers=fleet.headers(client),
        timeout=30,
    )


def payload(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    [value] = body["data"].values()
    assert value.get("userErrors", []) == [], value
    result: dict[str, Any] = value
    return result


def assert_no_loss(load: Load, label: str, fleet: Fleet | None = None) -> None:
    summary = load.summary()
    assert summary.requests > 0, f"{label}: the load sent nothing"
    # HAProxy logs the requests that did not end well, with its termination state.
    said = fleet.haproxy.child.tail(30) if fleet is not None else ""
    assert summary.failed == 0, f"{label}: {summary.line()}; {load.failures()}\n{said}"


# --- (a) rolling restart ------------------------------------------------------------


def test_a_rolling_restart_under_load_loses_no_request_and_no_write(healthy: Fleet) -> None:
    """SIGTERM each instance in turn, nothing done at the load balancer (the plain frontend).

    The plain frontend never retries elsewhere: a single refused connection
    would be a 503 to the client.
    """
    fleet = healthy
    with load_on(fleet, fleet.plain_url) as load:
        time.sleep(3)
        began = time.monotonic()
        phases = [fleet.restart(instance) for instance in fleet.instances]
        ended = time.monotonic()
        time.sleep(2)

    during = load.summary(began, ended)
    FIGURES["(a) rolling restart, during the restarts"] = during.line()
    FIGURES["(a) rolling restart, phases (s)"] = "; ".join(
        f"{i.name}: DOWN in HAProxy after {p['down_after']:.1f}, exited after "
        f"{p['exited_after']:.1f}, UP again after {p['up_after']:.1f}"
        for i, p in zip(fleet.instances, phases, strict=True)
    )
    assert_no_loss(load, "rolling restart", fleet)
    assert during.requests > 0
    # Every instance served before and after its own restart.
    assert set(during.served_by) == {i.name for i in fleet.instances}
    # No write lost: each acknowledged write is in the core once, and none went unanswered.
    summary = load.summary()
    assert summary.writes_sent == summary.writes_acknowledged > 0
    stored = asyncio.run(
        rows(
            fleet.spec.core_url,
            select(customers.c.email).where(customers.c.email.like(f"{load.tag}-%")),
        )
    )
    emails = [row.email for row in stored]
    assert sorted(emails) == sorted(load.written())


# --- (b) rate limits ------------------------------------------------------------------

#: 100 customers x 100 orders each: a high cost, cheap to run on a small core.
GREEDY = """query FleetGreedy {
  customers(first: 100) { edges { node { orders(first: 100) { edges { node { orderNumber } } } } } }
}"""


def test_b_a_clients_rate_limit_holds_across_instances(healthy: Fleet) -> None:
    fleet = healthy
    burst = int(fleet.spec.env["GATEWAY_RATE_LIMIT_BURST"])
    refill = float(fleet.spec.env["GATEWAY_RATE_LIMIT_PER_SECOND"])
    with load_on(fleet, fleet.url, write_every=0) as load:
        time.sleep(1)
        first = post(
            fleet.instances[0].url, fleet, GREEDY, client="greedy", extensions={"cost": True}
        )
        assert first.status_code == 200, first.text
        cost = int(first.json()["extensions"]["cost"]["requested"])
        allowed, refused_by = 1, {name: 0 for name in (i.name for i in fleet.instances)}
        began = time.monotonic()
        # Straight to each instance in turn: three separate budgets would allow three bursts.
        for n in range(1, 3 * (burst // cost) + 3):
            instance = fleet.instances[n % len(fleet.instances)]
            response = post(instance.url, fleet, GREEDY, client="greedy")
            if response.status_code == 429:
                refused_by[instance.name] += 1
                assert response.headers["retry-after"]
                assert response.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
            else:
                assert response.status_code == 200, response.text
                allowed += 1
        elapsed = time.monotonic() - began

    # One shared bucket: no more than the burst plus what it regained meanwhile (+ one request).
    ceiling = (burst + refill * elapsed) / cost + 1
    FIGURES["(b) rate limit"] = (
        f"cost {cost} per query, burst {burst}, {refill:.0f}/s: {allowed} allowed of "
        f"{allowed + sum(refused_by.values())} in {elapsed:.1f} s (one shared bucket allows "
        f"at most {ceiling:.1f}; one per instance would allow ~{3 * burst / cost:.0f}); "
        f"refused by {refused_by}"
    )
    assert allowed <= ceiling
    assert all(refused_by.values()), refused_by
    assert_no_loss(load, "rate limit")


# --- (c) cache invalidation -----------------------------------------------------------

CUSTOMER = """query FleetCustomer($n: String!) {
  customer(accountNumber: $n) { accountNumber name version }
}"""
UPDATE = """mutation FleetRename($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) { customer { name version } userErrors { code } }
}"""


def read_customer(instance: Instance, fleet: Fleet, account: str) -> tuple[dict[str, Any], bool]:
    response = post(instance.url, fleet, CUSTOMER, {"n": account})
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    return body["data"]["customer"], response.headers.get("x-response-cache") == "hit"


def test_c_a_write_through_one_instance_invalidates_the_others_caches(healthy: Fleet) -> None:
    fleet = healthy
    rounds, stale, primed_hits = 15, 0, 0
    # Reads only: the load's own writes would empty the caches all the time.
    with load_on(fleet, fleet.url, write_every=0) as load:
        for n in range(rounds):
            account = f"C-{n % 10 + 1:06d}"
            writer = fleet.instances[n % 3]
            readers = [i for i in fleet.instances if i is not writer]
            for instance in fleet.instances:
                read_customer(instance, fleet, account)  # cached now
            for instance in readers:
                cached, hit = read_customer(instance, fleet, account)
                primed_hits += hit
            new_name = f"Fleet round {n} {uuid.uuid4().hex[:6]}"
            changed = payload(
                post(
                    writer.url,
                    fleet,
                    UPDATE,
                    {
                        "input": {
                            "accountNumber": account,
                            "expectedVersion": cached["version"],
                            "name": new_name,
                        }
                    },
                )
            )
            assert changed["customer"]["name"] == new_name
            # At once, from the two instances that held the old answer.
            for instance in readers:
                seen, _ = read_customer(instance, fleet, account)
                stale += seen["name"] != new_name

    reads = rounds * 2
    FIGURES["(c) cross-instance invalidation"] = (
        f"{stale} stale reads in {reads} (each right after a write through another instance; "
        f"{primed_hits}/{reads} of the answers before the write came from the response cache)"
    )
    assert primed_hits == reads, "the response cache was not in play: this test proves nothing"
    assert stale == 0
    assert_no_loss(load, "invalidation")


# --- (d) subscriptions ----------------------------------------------------------------

SUBSCRIPTION = """subscription FleetEvents {
  orderEvents { id type orderNumber }
}"""


async def subscribe(url: str, fleet: Fleet) -> Any:
    ws = await websockets.connect(
        url.replace("http://", "ws://") + "/graphql",
        subprotocols=[websockets.Subprotocol("graphql-transport-ws")],
        additional_headers=fleet.headers("probe"),
    )
    await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
    ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert ack["type"] == "connection_ack", ack
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}))
    return ws


async def events_until(ws: Any, wanted: set[str], seconds: float) -> set[str]:
    seen: set[str] = set()
    deadline = time.monotonic() + seconds
    while not wanted <= seen and time.monotonic() < deadline:
        try:
            message = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        except TimeoutError:
            break
        assert message["type"] == "next", message
        event = message["payload"]["data"]["orderEvents"]
        if event["type"] == "ORDER_PLACED":
            seen.add(event["orderNumber"])
    return seen


def test_d_subscribers_on_one_instance_see_mutations_sent_to_another(healthy: Fleet) -> None:
    fleet = healthy
    g1, g2, g3 = fleet.instances
    [sku] = [s for s in (f"SKU-{n:05d}" for n in range(1, 30)) if world.has_price(s)][:1]
    orders = 8

    async def scenario() -> tuple[set[str], set[str], set[str]]:
        subscribers = [await subscribe(g1.url, fleet), await subscribe(g3.url, fleet)]
        await asyncio.sleep(1)  # subscribed, on the instances' Redis channel too
        placed: set[str] = set()
        for _ in range(orders):
            created = await asyncio.to_thread(
                post,
                g2.url,
                fleet,
                CREATE_ORDER,
                {
                    "input": {
                        "accountNumber": "C-000011",
                        "currency": "USD",
                        "lines": [{"sku": sku, "quantity": 1}],
                    }
                },
            )
            number = payload(created)["order"]["orderNumber"]
            done = await asyncio.to_thread(
                post,
                g2.url,
                fleet,
                PLACE_ORDER,
                {"input": {"orderNumber": number, "warehouseCode": "WH-EU1"}},
            )
            assert payload(done)["order"]["status"] == "PLACED"
            placed.add(number)
        seen = [await events_until(ws, placed, seconds=15) for ws in subscribers]
        for ws in subscribers:
            await ws.close()
        return placed, seen[0], seen[1]

    with load_on(fleet, fleet.url) as load:
        placed, on_g1, on_g3 = asyncio.run(scenario())

    FIGURES["(d) subscriptions across instances"] = (
        f"{len(placed)} orders placed through g2; subscriber on g1 saw {len(on_g1 & placed)}, "
        f"on g3 {len(on_g3 & placed)}"
    )
    assert on_g1 >= placed
    assert on_g3 >= placed
    assert_no_loss(load, "subscriptions")


# --- (e) outbox across a CRM outage ----------------------------------------------------


def crm_events(fleet: Fleet) -> dict[str, Any]:
    response = httpx.get(f"{fleet.crm_url}/_sim/events", timeout=10)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def test_e_outbox_events_from_a_crm_outage_are_delivered_exactly_once(healthy: Fleet) -> None:
    fleet = healthy
    core = fleet.spec.core_url
    made = 12
    with load_on(fleet, fleet.url) as load:
        fleet.set_crm(up=False)
        down_at = time.monotonic()
        outage_start = asyncio.run(scalar(core, select(func.now())))
        for n in range(made):
            payload(
                post(
                    fleet.url,
                    fleet,
                    CREATE_CUSTOMER,
                    {
                        "input": {
                            "name": f"Outage {n}",
                            "email": f"outage-{uuid.uuid4().hex[:8]}@fleet.example",
                            "segment": "SMB",
                            "creditLimit": "500.00",
                        }
                    },
                )
            )
        time.sleep(3)  # every dispatcher tries, and fails
        failing = asyncio.run(rows(core, select(outbox).where(outbox.c.status == "pending")))
        assert len(failing) >= made
        assert any(row.attempts > 0 for row in failing), "no dispatcher tried during the outage"
        fleet.set_crm(up=True)
        up_at = time.monotonic()
        deadline = up_at + 120
        while asyncio.run(scalar(core, select(func.count()).where(outbox.c.status != "delivered"))):
            assert time.monotonic() < deadline, "the outbox did not drain after the CRM came back"
            assert not asyncio.run(
                scalar(core, select(func.count()).where(outbox.c.status == "failed"))
            )
            time.sleep(0.2)
        drained = time.monotonic() - up_at
    during = asyncio.run(rows(core, select(outbox.c.id).where(outbox.c.created_at >= outage_start)))
    received = crm_events(fleet)
    ids = {str(event["id"]).lower() for event in received["events"]}

    FIGURES["(e) outbox across a CRM outage"] = (
        f"CRM down {up_at - down_at:.1f} s; {len(failing)} events pending at its return "
        f"(max {max(row.attempts for row in failing)} failed attempts), all delivered "
        f"{drained:.1f} s later by 3 dispatchers; the CRM holds {received['unique']} distinct "
        f"events, from {received['deliveries']} deliveries (repeats dropped by id)"
    )
    # Every event of the outage reached the CRM, and the CRM holds each one once. The
    # outbox delivers at least once: a delivery whose answer came too late is sent again
    # and the CRM drops the repeat by id (the figures count them).
    assert {str(row.id).lower() for row in during} <= ids
    assert {str(row.id).lower() for row in failing} <= ids
    assert len(ids) == received["unique"] == len(received["events"])
    stored = {str(row.id).lower(): row for row in asyncio.run(rows(core, select(outbox)))}
    for event in received["events"]:
        row = stored[str(event["id"]).lower()]
        assert row.status == "delivered"
        assert event["type"] == row.type
    assert_no_loss(load, "outbox")


# --- (f) kill -9 ----------------------------------------------------------------------


def test_f_kill_9_costs_only_the_requests_in_flight_on_that_instance(healthy: Fleet) -> None:
    fleet = healthy
    victim = fleet.instances[1]
    check = fleet.spec.check_interval_ms / 1000
    with load_on(fleet, fleet.url) as load:
        time.sleep(3)
        in_flight = fleet.haproxy.servers()[victim.name].current_sessions
        killed_at = time.monotonic()
        victim.child.signal(signal.SIGKILL)
        noticed = fleet.haproxy.wait_status(victim.name, "DOWN", timeout=30)
        time.sleep(3)
        victim.child.wait(10)
        victim.child.start()
        victim.child.wait_http(f"{victim.url}/readyz", timeout=180)
        fleet.haproxy.wait_status(victim.name, "UP")
        time.sleep(1)

    failed = [s for s in load.samples if s.failed]
    FIGURES["(f) kill -9"] = (
        f"{len(failed)} failed requests ({load.failures()}; sent up to "
        f"{max((s.started - killed_at for s in failed), default=0):.2f} s after the kill), "
        f"{in_flight} in flight on "
        f"{victim.name} when killed; HAProxy marked it DOWN {noticed:.2f} s later "
        f"(checks every {check:.1f} s); {len(load.samples)} requests in all"
    )
    # Lost: what was in flight on it, or sent to it on a pooled connection before HAProxy
    # had noticed (the probe window); at most the concurrency, none after the window.
    assert len(failed) <= CONCURRENCY, fleet.haproxy.child.tail(30)
    late = [s for s in failed if s.started > killed_at + noticed]
    assert not late, late
    # Routed around: out of the rotation within the probe window (fall 3: three failed checks).
    assert noticed <= 4 * check + 2.0
