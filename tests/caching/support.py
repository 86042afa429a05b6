"""Helpers of the caching tests: backends with a cache, batched price loads, a shipment."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from gateway.backends import Backends
from gateway.caching.bolt_on import BoltOnCache
from gateway.loaders import Loaders
from simulators.runner import Simulators
from tests.support.bolt_ons import backend_settings, shipping

SKUS = [f"SKU-{i:05d}" for i in range(1, 21)]


@asynccontextmanager
async def cached_backends(
    tmp_path: Path, sims: Simulators, **overrides: Any
) -> AsyncIterator[Backends]:
    """Backends from settings (memory cache unless ``redis_url`` is given), entered."""
    async with Backends.from_settings(backend_settings(tmp_path, sims, **overrides)) as backends:
        yield backends


def cache_of(backends: Backends) -> BoltOnCache:
    assert backends.cache is not None
    return backends.cache


async def prices(
    backends: Backends,
    skus: list[str],
    currency: str = "USD",
    extensions: dict[str, object] | None = None,
) -> list[Any]:
    """Load prices as one request would: a fresh ``Loaders``, one batch."""
    loaders = Loaders(backends, extensions=extensions)
    return list(await asyncio.gather(*(loaders.price.load((sku, currency)) for sku in skus)))


async def ship(sims: Simulators, order_number: str) -> None:
    """Create a shipment for ``order_number`` straight at the Shipping simulator."""
    async with shipping(sims) as adapter:
        await adapter.create_shipment(
            order_number=order_number,
            warehouse_code="WH-1",
            lines=[("SKU-00001", 1)],
            idempotency_key=uuid.uuid4().hex,
        )
