"""The Shipping & Logistics bolt-on (shipping.openapi.yaml), reached over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from adapters.errors import BackendNotFound, BackendUnavailable
from adapters.http import HttpBackend, chunks
from adapters.parsing import items, optional_date, utc_datetime
from adapters.records import ShipmentRecord, TrackingEventRecord

#: The contract's limit of order numbers per GET /v1/shipments.
SHIPMENTS_BATCH = 50


class ShippingAdapter(HttpBackend):
    """Shipments per order, their tracking events, and idempotent creation.

    Example:
        >>> async with ShippingAdapter("http://127.0.0.1:8103", token="t") as shipping:
        ...     [shipment] = await shipping.shipments(["SO-000123"])
    """

    def __init__(
        self, base_url: str, *, token: str | None, concurrency: int = 16, **options: Any
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        super().__init__("shipping", base_url, headers=headers, **options)
        self._bound = asyncio.Semaphore(concurrency)

    async def shipments(self, order_numbers: Sequence[str]) -> list[ShipmentRecord | None]:
        """The shipment of each order, in input order, ``None`` for an unshipped order."""
        distinct = list(dict.fromkeys(order_numbers))
        found: dict[str, ShipmentRecord] = {}
        for page in await asyncio.gather(
            *(self._shipment_page(chunk) for chunk in chunks(distinct, SHIPMENTS_BATCH))
        ):
            found.update(page)
        return [found.get(number) for number in order_numbers]

    async def _shipment_page(self, order_numbers: list[str]) -> dict[str, ShipmentRecord]:
        body = await self.request(
            "GET",
            "/v1/shipments",
            params={"order_number": order_numbers},
            operation="listShipments",
        )
        try:
            return {item["order_number"]: _shipment(item) for item in items(body)}
        except (KeyError, TypeError, ValueError) as exc:
            raise BackendUnavailable(self.service, "malformed shipments") from exc

    async def probe(self) -> None:
        """A cheap authenticated call: raises when Shipping is down or refuses our token.

        One attempt, outside the breaker and the bulkhead (``/readyz``, ``gateway check``).
        """
        await self.request(
            "GET",
            "/v1/shipments",
            params={"order_number": ["__probe__"]},
            operation="listShipments",
            resilient=False,
        )

    async def tracking_events(self, shipment_id: str) -> list[TrackingEventRecord] | None:
        """Tracking events of a shipment, oldest first; ``None`` for an unknown shipment."""
        try:
            body = await self.request(
                "GET",
                f"/v1/shipments/{quote(shipment_id, safe='')}/events",
                operation="listTrackingEvents",
                queue=self._bound,
            )
        except BackendNotFound:
            return None
        try:
            return [
                TrackingEventRecord(
                    occurred_at=utc_datetime(item["occurred_at"]),
                    status=str(item["status"]),
                    location=str(item["location"]),
                )
                for item in items(body)
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise BackendUnavailable(self.service, "malformed tracking events") from exc

    async def create_shipment(
        self,
        *,
        order_number: str,
        warehouse_code: str,
        lines: Sequence[tuple[str, int]],
        idempotency_key: str,
    ) -> ShipmentRecord:
        """Create the order's shipment; a repeat with the same key returns the same one."""
        body = await self.request(
            "POST",
            "/v1/shipments",
            operation="createShipment",
            json={
                "order_number": order_number,
                "warehouse_code": warehouse_code,
                "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines],
            },
            headers={"Idempotency-Key": idempotency_key},
        )
        try:
            return _shipment(body)
        except (KeyError, TypeError, ValueError) as exc:
            raise BackendUnavailable(self.service, "malformed shipment") from exc


def _shipment(item: dict[str, Any]) -> ShipmentRecord:
    return ShipmentRecord(
        shipment_id=str(item["shipment_id"]),
        order_number=str(item["order_number"]),
        carrier=str(item["carrier"]),
        tracking_number=str(item["tracking_number"]),
        status=str(item["status"]),
        eta=optional_date(item.get("eta")),
        updated_at=utc_datetime(item["updated_at"]),
    )


__all__ = ["SHIPMENTS_BATCH", "BackendNotFound", "ShippingAdapter"]
