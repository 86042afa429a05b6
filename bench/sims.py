"""Serve one bolt-on simulator in this process: ``python -m bench.sims pricing``.

Prints its URL on the first line of stdout, then serves until SIGTERM. The
benchmark runs each simulator in a process of its own so that the three do
not share one interpreter lock.
"""

from __future__ import annotations

import argparse
import asyncio

import uvicorn

from simulators.common import SimulatorState
from simulators.crm import CrmState, create_crm_app
from simulators.pricing import create_pricing_app
from simulators.runner import bind_socket, server_config, url_of
from simulators.shipping import ShippingState, create_shipping_app

TOKENS = {
    "pricing": "bench-pricing-token",
    "crm": "bench-crm-key",
    "shipping": "bench-shipping-token",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("service", choices=sorted(TOKENS))
    parser.add_argument("--seeded-orders", type=int, default=20_000)
    args = parser.parse_args()
    if args.service == "pricing":
        app = create_pricing_app(TOKENS["pricing"], state=SimulatorState("pricing"))
    elif args.service == "crm":
        app = create_crm_app(TOKENS["crm"], state=CrmState())
    else:
        app = create_shipping_app(
            TOKENS["shipping"], state=ShippingState(), seeded_orders=args.seeded_orders
        )
    sock = bind_socket("127.0.0.1", 0)
    print(url_of(sock), flush=True)
    server = uvicorn.Server(server_config(app, ws="none", timeout_graceful_shutdown=1))
    asyncio.run(server.serve(sockets=[sock]))


if __name__ == "__main__":
    main()
