"""A revoked key stops working within seconds, without a restart; a new one starts working.

A real ``gateway serve`` reads its clients from a TOML file; ``gateway
clients revoke`` / ``add`` (the operator's commands) rewrite it. The served
process notices the change (or gets SIGHUP) and swaps its credential table,
and says which configuration generation is live in its log and ``/readyz``.
A broken file changes nothing; a request in flight is not dropped.
"""

from __future__ import annotations

import concurrent.futures
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import tomli_w

from gateway.security.clients import ALL_SCOPES, hash_key
from simulators.runner import Simulators
from tests.support.cli import gateway_env, run_cli
from tests.support.served import ServedGateway, served_gateway

PARTNER_KEY = "gwk_partner-key-for-the-reload-tests"
ADMIN_KEY = "gwk_admin-key-for-the-reload-tests"
QUERY = {"query": "{ warehouses { code } }"}
#: Seconds a change may take to reach the served process (it looks every 0.2 s).
WITHIN = 10.0


def _write_config(path: Path) -> None:
    path.write_text(
        tomli_w.dumps(
            {
                "clients": [
                    {
                        "id": "partner",
                        "scopes": ["core:read"],
                        "key_hashes": [hash_key(PARTNER_KEY)],
                    },
                    {
                        "id": "admin",
                        "scopes": sorted(ALL_SCOPES),
                        "key_hashes": [hash_key(ADMIN_KEY)],
                    },
                ]
            }
        )
    )


def _env(core: str, sims: Simulators, config: Path, interval: str, **more: str) -> dict[str, str]:
    return gateway_env(
        core,
        sims,
        GATEWAY_CONFIG=str(config),
        GATEWAY_CONFIG_RELOAD_INTERVAL=interval,
        GATEWAY_OUTBOX_DISPATCHER="false",
        **more,
    )


def _status(gateway: ServedGateway, key: str) -> int:
    return httpx.post(
        f"{gateway.url}/graphql", json=QUERY, headers={"X-Api-Key": key}, timeout=10
    ).status_code


def _eventually(check: Callable[[], bool], within: float = WITHIN) -> float:
    """Seconds until ``check()`` held; fails after ``within``."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > within:
            raise AssertionError(f"not within {within} s")
        time.sleep(0.05)
    return time.monotonic() - started


def _configuration(gateway: ServedGateway) -> dict[str, Any]:
    body = httpx.get(f"{gateway.url}/readyz", timeout=10).json()
    configuration: dict[str, Any] = body["configuration"]
    return configuration


def test_revoke_and_add_take_effect_without_a_restart(
    tmp_path: Path, sqlite_core: str, sims: Simulators
) -> None:
    config = tmp_path / "gateway.toml"
    _write_config(config)
    with served_gateway(_env(sqlite_core, sims, config, "0.2"), tmp_path) as gateway:
        assert _status(gateway, PARTNER_KEY) == 200
        first = _configuration(gateway)
        assert first["generation"] == 1 and first["clients"] == 2

        revoked = run_cli(gateway.env, "clients", "revoke", "partner", "-c", str(config))
        assert revoked.returncode == 0, revoked.stderr
        took = _eventually(lambda: _status(gateway, PARTNER_KEY) == 401)
        print(f"revoked key refused {took:.2f} s after `gateway clients revoke`")
        assert _status(gateway, ADMIN_KEY) == 200  # the others are untouched

        added = run_cli(
            gateway.env, "clients", "add", "newcomer", "-s", "core:read", "-c", str(config)
        )
        assert added.returncode == 0, added.stderr
        new_key = added.stdout.strip()
        assert new_key.startswith("gwk_")
        _eventually(lambda: _status(gateway, new_key) == 200)

        live = _configuration(gateway)
        assert live["generation"] == 3 and live["clients"] == 3
        assert live["digest"] != first["digest"]
        assert gateway.process.poll() is None  # the same process all along
        log = gateway.output()
        assert "configuration generation 2 live" in log and "configuration generation 3 live" in log
        assert PARTNER_KEY not in log and new_key not in log


def test_sighup_reloads_and_a_request_in_flight_finishes(
    tmp_path: Path, sqlite_core: str, sims: Simulators
) -> None:
    config = tmp_path / "gateway.toml"
    _write_config(config)
    # No file watch: only the signal reloads.
    env = _env(sqlite_core, sims, config, "0", GATEWAY_PRICING_TIMEOUT="15")
    with served_gateway(env, tmp_path) as gateway:
        assert (
            run_cli(gateway.env, "clients", "revoke", "partner", "-c", str(config)).returncode == 0
        )
        time.sleep(1.0)
        assert _status(gateway, PARTNER_KEY) == 200  # not yet: nobody said

        sims.pricing.state.configure(latency=3.0)
        slow = {"query": '{ product(sku: "SKU-00001") { sku price { listPrice } } }'}
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            in_flight = pool.submit(
                httpx.post,
                f"{gateway.url}/graphql",
                json=slow,
                headers={"X-Api-Key": PARTNER_KEY},
                timeout=30,
            )
            time.sleep(0.5)  # authenticated, waiting for Pricing
            gateway.process.send_signal(signal.SIGHUP)
            _eventually(lambda: _status(gateway, PARTNER_KEY) == 401)
            answer = in_flight.result()
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"]["product"]["price"] is not None
        assert _configuration(gateway)["generation"] == 2
        assert gateway.process.poll() is None


def test_a_broken_file_keeps_the_live_configuration(
    tmp_path: Path, sqlite_core: str, sims: Simulators
) -> None:
    config = tmp_path / "gateway.toml"
    _write_config(config)
    with served_gateway(_env(sqlite_core, sims, config, "0.2"), tmp_path) as gateway:
        good = config.read_text()
        config.write_text(good.replace('"core:read"', '"core:reed"', 1))  # an unknown scope
        _eventually(lambda: "failed, generation 1 stays live" in gateway.output())
        config.write_text("[[clients]\nid = ")  # not TOML
        _eventually(lambda: gateway.output().count("failed, generation 1 stays live") == 2)
        assert _status(gateway, PARTNER_KEY) == 200
        assert _configuration(gateway)["generation"] == 1
        lines = [line for line in gateway.output().splitlines() if "stays live" in line]
        assert "clients.0.scopes" in lines[0] and "gateway.toml" in lines[0]

        config.write_text(good.replace('"core:read"', '"core:read", "margins:read"', 1))
        _eventually(lambda: _configuration(gateway)["generation"] == 2)
        assert _status(gateway, PARTNER_KEY) == 200


def test_several_workers_reload_on_sighup_without_being_replaced(
    tmp_path: Path, sqlite_core: str, sims: Simulators
) -> None:
    config = tmp_path / "gateway.toml"
    _write_config(config)
    env = _env(sqlite_core, sims, config, "0", GATEWAY_WORKERS="2")
    with served_gateway(env, tmp_path, timeout=120) as gateway:
        # Both workers answer (each connection may land on either).
        _eventually(lambda: "Application startup complete" in gateway.output(), within=60)
        _eventually(lambda: gateway.output().count("Application startup complete") == 2, within=60)
        started = gateway.output().count("Started server process")
        assert (
            run_cli(gateway.env, "clients", "revoke", "partner", "-c", str(config)).returncode == 0
        )
        gateway.process.send_signal(signal.SIGHUP)
        _eventually(lambda: gateway.output().count("configuration generation 2 live") == 2)
        assert {_status(gateway, PARTNER_KEY) for _ in range(12)} == {401}
        assert _status(gateway, ADMIN_KEY) == 200
        assert gateway.output().count("Started server process") == started  # none replaced
