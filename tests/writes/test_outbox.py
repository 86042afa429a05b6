"""The outbox: delivery to the CRM, survival of a restart, failure and replay, two dispatchers."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from adapters.core import CoreAdapter
from adapters.core.gateway_tables import ensure_gateway_tables, outbox
from adapters.core.writes import Actor, CoreWriter
from adapters.crm import CrmAdapter
from gateway.cli.main import app as cli
from gateway.writes.outbox import OutboxDispatcher, outbox_stats, replay_failed
from simulators.runner import Simulators
from simulators.seed import seed
from tests.support.gateway import Gateway, running_gateway
from tests.support.mutations import CREATE_CUSTOMER, UPDATE_CUSTOMER, mutate
from tests.support.simulators import CRM_API_KEY
from tests.writes.support import SQLITE_ONLY, eventually, mutation_settings, outbox_rows, rows

NEW = {"name": "Outbox Traders", "email": "o@example.com", "segment": "MID_MARKET",
       "creditLimit": "5000.00"}  # fmt: skip


async def test_events_reach_the_crm_in_the_contract_envelope(
    gateway: Gateway, core_url: str, sims: Simulators
) -> None:
    created = await mutate(gateway, CREATE_CUSTOMER, NEW)
    account = created["customer"]["accountNumber"]
    await mutate(
        gateway, UPDATE_CUSTOMER, {"accountNumber": account, "expectedVersion": 1, "name": "OT"}
    )

    async def delivered() -> bool:
        marked = {row.status for row in await outbox_rows(core_url)} == {"delivered"}
        return marked and len(sims.crm.state.events()) == 2

    await eventually(delivered)
    first, second = sims.crm.state.events()
    assert (first["type"], second["type"]) == ("customer.created", "customer.updated")
    assert first["data"]["account_number"] == account
    assert first["data"]["credit_limit"] == "5000.00"  # money as a string
    assert first["occurred_at"].endswith("Z")
    assert second["data"]["name"] == "OT"
    assert second["data"]["version"] == 2


async def test_pending_events_survive_a_restart(core_url: str, sims: Simulators) -> None:
    """Stop the app while the CRM fails; a new app delivers everything."""
    sims.crm.state.configure(failure_rate=1.0, operations=["receiveEvent"])
    settings = mutation_settings(core_url, sims)
    async with running_gateway(settings) as gateway:
        for i in range(3):
            await mutate(gateway, CREATE_CUSTOMER, {**NEW, "name": f"Restart {i}"})

        async def attempted() -> bool:
            return all(row.attempts >= 1 for row in await outbox_rows(core_url))

        await eventually(attempted)
    # Stopped with the events pending, none delivered.
    assert sims.crm.state.events() == []
    assert {row.status for row in await outbox_rows(core_url)} == {"pending"}
    ids = {row.id for row in await outbox_rows(core_url)}

    sims.crm.state.configure(failure_rate=0.0)
    async with running_gateway(settings):

        async def arrived() -> bool:
            marked = {row.status for row in await outbox_rows(core_url)} == {"delivered"}
            return marked and {event["id"] for event in sims.crm.state.events()} == ids

        await eventually(arrived)
    assert sims.crm.state.deliveries == len(ids)  # nothing delivered twice


async def test_failed_events_are_replayed(core_url: str, sims: Simulators) -> None:
    sims.crm.state.configure(failure_rate=1.0, operations=["receiveEvent"])
    settings = mutation_settings(core_url, sims, outbox_max_attempts=2)
    async with running_gateway(settings) as gateway:
        await mutate(gateway, CREATE_CUSTOMER, NEW)

        async def failed() -> bool:
            return [row.status for row in await outbox_rows(core_url)] == ["failed"]

        await eventually(failed)
        [row] = await outbox_rows(core_url)
        assert row.attempts == 2
        assert "crm" in row.last_error
        stats = await outbox_stats(gateway.backends.core)
        assert (stats.pending, stats.failed, stats.delivered) == (0, 1, 0)

        sims.crm.state.configure(failure_rate=0.0)
        assert await replay_failed(gateway.backends.core) == 1

        async def delivered() -> bool:
            [row] = await outbox_rows(core_url)
            return row.status == "delivered"

        await eventually(delivered)
    assert len(sims.crm.state.events()) == 1


async def test_cli_reports_and_replays(tmp_path: Path, sims: Simulators) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    async with CoreAdapter(url) as core:
        await core.create_schema()
        await ensure_gateway_tables(core)
        await seed(core, scale=0.01)
        writer = CoreWriter(core)
        for name in ("A", "B"):
            await writer.create_customer(
                Actor("cli", "createCustomer"),
                name=name,
                email=None,
                segment="smb",
                credit_limit=Decimal("1.00"),
            )
        async with core.transaction() as conn:
            await conn.execute(
                outbox.update().where(outbox.c.type == "customer.created").values(status="failed")
            )
            first = (await conn.execute(select(outbox.c.id).limit(1))).scalar_one()
            await conn.execute(outbox.update().where(outbox.c.id == first).values(status="pending"))
    runner = CliRunner()
    env = {"GATEWAY_CORE_DATABASE_URL": url}

    # In a worker thread: the command runs its own event loop, as from a shell.
    status = await asyncio.to_thread(runner.invoke, cli, ["outbox"], env=env)
    assert status.exit_code == 0, status.output
    assert "pending    1" in status.output
    assert "failed     1" in status.output
    assert "oldest pending age" in status.output
    replay = await asyncio.to_thread(runner.invoke, cli, ["outbox", "replay"], env=env)
    assert replay.exit_code == 0, replay.output
    assert "re-queued 1 failed event(s)" in replay.output
    async with CoreAdapter(url) as core:
        stats = await outbox_stats(core)
    assert (stats.pending, stats.failed) == (2, 0)


async def test_two_postgres_dispatchers_deliver_each_event_once(
    pg_core_url: str, sims: Simulators
) -> None:
    events = 120
    async with CoreAdapter(pg_core_url) as core:
        await ensure_gateway_tables(core)
        writer = CoreWriter(core)
        await asyncio.gather(
            *(
                writer.update_customer(
                    Actor("test", "updateCustomer"),
                    account_number=f"C-{n:06d}",
                    expected_version=1,
                    values={"credit_limit": Decimal("1.00")},
                )
                for n in range(1, 21)
            )
        )
        for n in range(1, 21):
            for version in range(2, 2 + (events - 20) // 20):
                await writer.update_customer(
                    Actor("test", "updateCustomer"),
                    account_number=f"C-{n:06d}",
                    expected_version=version,
                    values={"credit_limit": Decimal(version)},
                )
    assert len(await rows(pg_core_url, select(outbox.c.id))) == events

    # Two dispatchers, each with its own pool: as two gateway processes would run.
    async with (
        CoreAdapter(pg_core_url) as core_a,
        CoreAdapter(pg_core_url) as core_b,
        CrmAdapter(sims.crm.url, api_key=CRM_API_KEY) as crm_a,
        CrmAdapter(sims.crm.url, api_key=CRM_API_KEY) as crm_b,
    ):
        a = OutboxDispatcher(core_a, crm_a, batch_size=7, poll_interval=0.02, name="a")
        b = OutboxDispatcher(core_b, crm_b, batch_size=7, poll_interval=0.02, name="b")
        a.start()
        b.start()
        try:

            async def all_delivered() -> bool:
                return (await outbox_stats(core_a)).delivered == events

            await eventually(all_delivered, within=20)
        finally:
            await a.stop()
            await b.stop()
    assert len(sims.crm.state.events()) == events
    assert sims.crm.state.deliveries == events  # no event was sent twice
    # Both took part: the work was shared, not serialised behind one of them.
    assert a.delivered > 0
    assert b.delivered > 0
    assert a.delivered + b.delivered == events


@SQLITE_ONLY
async def test_a_dead_dispatchers_claim_expires_with_its_lease(
    core_url: str, sims: Simulators
) -> None:
    async with CoreAdapter(core_url) as core, CrmAdapter(sims.crm.url, api_key=CRM_API_KEY) as crm:
        await ensure_gateway_tables(core)
        await CoreWriter(core).create_customer(
            Actor("test", "createCustomer"),
            name="Lease",
            email=None,
            segment="smb",
            credit_limit=Decimal("1.00"),
        )
        sims.crm.state.configure(hang=True)
        dead = OutboxDispatcher(core, crm, lease=0.5, poll_interval=0.02, name="dead")
        dead.start()

        async def claimed() -> bool:
            return [row.claimed_by for row in await outbox_rows(core_url)] == ["dead"]

        await eventually(claimed)
        await dead.stop(grace=0.05)  # killed mid-delivery: its claim stays behind
        sims.crm.state.configure(hang=False)

        heir = OutboxDispatcher(core, crm, lease=0.5, name="heir")
        assert await heir.run_once() == 0  # the lease still holds
        await asyncio.sleep(0.6)
        assert await heir.run_once() == 1
    [row] = await outbox_rows(core_url)
    assert row.status == "delivered"
    assert heir.delivered == 1
