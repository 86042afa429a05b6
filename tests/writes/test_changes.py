"""The cache-hygiene seam: every committed write names what it changed."""

from __future__ import annotations

from gateway.writes.changes import ChangeSet
from simulators import world
from tests.support.gateway import Gateway
from tests.support.mutations import CREATE_ORDER, PLACE_ORDER, UPDATE_CUSTOMER, codes, mutate
from tests.writes.support import SQLITE_ONLY, active_skus


@SQLITE_ONLY
async def test_hooks_hear_each_committed_write(gateway: Gateway, core_url: str) -> None:
    heard: list[ChangeSet] = []

    async def record(changes: ChangeSet) -> None:
        heard.append(changes)

    def broken(changes: ChangeSet) -> None:
        raise RuntimeError("a broken cache must not fail a committed write")

    gateway.app.state.on_change.append(broken)
    gateway.app.state.on_change.append(record)
    [sku] = [s for s in await active_skus(core_url) if world.has_price(s)][:1]

    created = await mutate(
        gateway,
        CREATE_ORDER,
        {"accountNumber": "C-000004", "currency": "USD", "lines": [{"sku": sku, "quantity": 1}]},
    )
    number = created["order"]["orderNumber"]
    placed = await mutate(gateway, PLACE_ORDER, {"orderNumber": number, "warehouseCode": "WH-EU1"})
    stale = await mutate(
        gateway, UPDATE_CUSTOMER, {"accountNumber": "C-000004", "expectedVersion": 9, "name": "X"}
    )

    assert placed["userErrors"] == []
    assert codes(stale) == [("input.expectedVersion", "CONFLICT")]
    # A rejected write changed nothing and is not reported.
    assert heard == [
        frozenset({("Order", number)}),
        frozenset({("Order", number), ("Customer", "C-000004"), ("Product", sku)}),
    ]
