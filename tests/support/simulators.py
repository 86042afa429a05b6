"""The bolt-on simulators as the tests serve them: one set of credentials, loopback ports."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from simulators.runner import Simulators

PRICING_TOKEN = "test-pricing-token"
CRM_API_KEY = "test-crm-key"
SHIPPING_TOKEN = "test-shipping-token"


@contextmanager
def serve_simulators(*, seeded_orders: int) -> Iterator[Simulators]:
    """The three simulators with the test credentials, served in background threads.

    Args:
        seeded_orders: how many orders the core under test was seeded with
            (``SO-000001`` .. ``SO-<seeded_orders>``): the Shipping simulator
            answers for the shipped ones among them.
    """
    with Simulators.start_in_thread(
        secrets={"pricing": PRICING_TOKEN, "crm": CRM_API_KEY, "shipping": SHIPPING_TOKEN},
        seeded_orders=seeded_orders,
    ) as running:
        yield running


class StartSimulators(Protocol):
    """The ``start_simulators`` fixture: a fresh instance, stopped when the test ends."""

    def __call__(self, *, seeded_orders: int = ...) -> Simulators: ...
