"""Declared bolt-ons in a test: the example declarations, their generated simulators.

``declared`` copies ``examples/bolt-ons`` into a folder of the test's own,
points each declaration's ``base_url`` at a simulator generated from its
contract (served on loopback for the module) and sets the secrets in the
environment; ``declared_gateway`` builds a gateway on the shared seeded core
with that folder as ``bolt_ons_dir`` and a client holding every scope.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway.bolt_ons import Declaration, load_declarations
from gateway.security.clients import ALL_SCOPES
from simulators.common import SimulatorState
from simulators.declared import create_declared_app
from simulators.runner import BackgroundServer, Simulators
from tests.bolt_ons.support import copy_examples
from tests.support.gateway import Gateway, GatewayFactory, client_config, settings_for

SECRETS = {"FORECAST_TOKEN": "forecast-test-token", "WARRANTY_API_KEY": "warranty-test-key"}
DECLARED_SCOPES = frozenset({"forecast:read", "warranty:read"})


@dataclass
class Declared:
    """The example bolt-ons of a test: their folder, declarations and simulators."""

    folder: Path
    declarations: dict[str, Declaration]
    states: dict[str, SimulatorState]
    urls: dict[str, str]

    def reset(self) -> None:
        for state in self.states.values():
            state.reset()


def write_examples(folder: Path, urls: dict[str, str] | None = None) -> Path:
    """The example declarations and contracts copied into ``folder`` (base URLs replaced)."""
    copy_examples(folder)
    for name, url in (urls or {}).items():
        toml = folder / f"{name}.toml"
        text = re.sub(r'(?m)^base_url = "[^"]*"', f'base_url = "{url}"', toml.read_text())
        toml.write_text(text)
    return folder


@pytest.fixture(scope="module")
def declared_sims(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Declared]:
    """A simulator per example bolt-on, for the module (reset around each test)."""
    with pytest.MonkeyPatch.context() as patch:
        for variable, value in SECRETS.items():
            patch.setenv(variable, value)
        source = write_examples(tmp_path_factory.mktemp("examples"))
        declarations = {d.name: d for d in load_declarations(source)}
        states = {name: SimulatorState(name) for name in declarations}
        servers = {
            name: BackgroundServer(
                create_declared_app(d, secret=SECRETS[d.secret_env or ""], state=states[name])
            )
            for name, d in declarations.items()
        }
        for server in servers.values():
            server.__enter__()
        try:
            urls = {name: server.url for name, server in servers.items()}
            folder = write_examples(tmp_path_factory.mktemp("bolt-ons"), urls)
            yield Declared(folder, {d.name: d for d in load_declarations(folder)}, states, urls)
        finally:
            for server in servers.values():
                server.__exit__(None, None, None)


@pytest.fixture
def declared(declared_sims: Declared, monkeypatch: pytest.MonkeyPatch) -> Iterator[Declared]:
    for variable, value in SECRETS.items():
        monkeypatch.setenv(variable, value)
    declared_sims.reset()
    yield declared_sims
    declared_sims.reset()


def declared_settings(core: str, sims: Simulators, declared: Declared, **overrides: Any) -> Any:
    """Settings of a gateway with the example bolt-ons declared and a client with every scope."""
    scopes = sorted(ALL_SCOPES | DECLARED_SCOPES)
    values: dict[str, Any] = {
        "clients": [client_config(scopes=scopes)],
        "bolt_ons_dir": declared.folder,
        **overrides,
    }
    return settings_for(core, sims, **values)


@pytest.fixture
async def declared_gateway(
    gateway_factory: GatewayFactory, sqlite_core: str, sims: Simulators, declared: Declared
) -> Gateway:
    """A gateway with the example bolt-ons, its bolt-on cache off (every read is a call)."""
    return await gateway_factory(
        declared_settings(sqlite_core, sims, declared, cache_enabled=False)
    )
