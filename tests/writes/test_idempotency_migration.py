"""A core whose gateway_idempotency_keys predates leases is migrated at start-up, rows kept.

The table of the previous version had no ``owner``, ``lease_until`` or
``effects``. Starting the gateway adds them; a key that was pending then
keeps waiting for its expiry (nobody can tell whether its write committed),
and a stored response still replays.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    Column,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    inspect,
    select,
)

from adapters.core import CoreAdapter
from adapters.core.gateway_tables import idempotency_keys
from adapters.core.types import UTCDateTime
from gateway.http.idempotency import fingerprint
from gateway.pipeline import GraphQLRequest
from simulators.runner import Simulators
from tests.support.gateway import TEST_CLIENT_ID, running_gateway
from tests.support.mutations import CANCEL_ORDER
from tests.writes.support import mutation_settings, rows

_old = MetaData()
OLD_TABLE = Table(
    "gateway_idempotency_keys",
    _old,
    Column("client_id", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("fingerprint", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("media_type", Text, nullable=True),
    Column("body", LargeBinary, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("client_id", "key", name="gateway_idempotency_keys_pkey"),
)


async def test_an_old_table_gains_its_lease_columns(core_url: str, sims: Simulators) -> None:
    variables = {"input": {"orderNumber": "SO-000001"}}
    digest = fingerprint(GraphQLRequest(CANCEL_ORDER, variables, None))
    now = datetime.now(UTC)
    async with CoreAdapter(core_url) as core, core.engine.begin() as conn:
        await conn.run_sync(_old.create_all)
        await conn.execute(
            OLD_TABLE.insert(),
            [
                {
                    "client_id": TEST_CLIENT_ID,
                    "key": "left-pending",
                    "fingerprint": digest,
                    "state": "pending",
                    "status_code": None,
                    "media_type": None,
                    "body": None,
                    "created_at": now,
                    "expires_at": now + timedelta(hours=1),
                },
                {
                    "client_id": TEST_CLIENT_ID,
                    "key": "answered",
                    "fingerprint": digest,
                    "state": "done",
                    "status_code": 200,
                    "media_type": "application/json",
                    "body": b'{"data":{"stored":true}}',
                    "created_at": now,
                    "expires_at": now + timedelta(hours=1),
                },
            ],
        )

    settings = mutation_settings(core_url, sims, idempotency_wait=0.3, idempotency_lease=0.5)
    async with running_gateway(settings) as gateway:
        async with CoreAdapter(core_url) as core, core.engine.connect() as conn:
            columns = await conn.run_sync(
                lambda sync: {c["name"] for c in inspect(sync).get_columns(OLD_TABLE.name)}
            )
        assert {"owner", "lease_until", "effects"} <= columns

        [legacy] = await rows(
            core_url,
            select(idempotency_keys.c.lease_until, idempotency_keys.c.expires_at).where(
                idempotency_keys.c.key == "left-pending"
            ),
        )
        assert legacy.lease_until == legacy.expires_at  # held until it expires, as before

        pending = await gateway.client.post(
            "/graphql",
            json={"query": CANCEL_ORDER, "variables": variables},
            headers={"Idempotency-Key": "left-pending"},
        )
        assert pending.status_code == 409, pending.text
        assert pending.json()["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_IN_PROGRESS"

        answered = await gateway.client.post(
            "/graphql",
            json={"query": CANCEL_ORDER, "variables": variables},
            headers={"Idempotency-Key": "answered"},
        )
        assert answered.headers["idempotent-replayed"] == "true"
        assert answered.json() == {"data": {"stored": True}}

    # A second start finds nothing to add.
    async with running_gateway(settings):
        pass
