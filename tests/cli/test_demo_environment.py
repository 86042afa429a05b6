"""``gateway demo`` tells other shells how to reach its backends: ``gateway check`` passes."""

from __future__ import annotations

import os
import shlex
import stat
from pathlib import Path

from gateway.cli.check import run_checks
from gateway.settings import Settings
from tests.support.demo import running_demo


def _exports(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            values[name] = shlex.split(value)[0] if value else ""
    return values


async def test_the_demo_env_file_makes_gateway_check_pass(tmp_path: Path) -> None:
    async with running_demo(tmp_path) as info:
        env_file = Path(info["env_file"])
        assert env_file == tmp_path / "demo.env"
        # It holds the simulators' credentials: the owner's alone.
        assert stat.S_IMODE(os.stat(env_file).st_mode) == 0o600
        exports = _exports(env_file)
        assert set(exports) == {
            "GATEWAY_CORE_DATABASE_URL",
            "GATEWAY_PRICING_URL",
            "GATEWAY_PRICING_TOKEN",
            "GATEWAY_CRM_URL",
            "GATEWAY_CRM_API_KEY",
            "GATEWAY_SHIPPING_URL",
            "GATEWAY_SHIPPING_TOKEN",
        }
        # What `. demo.env && gateway check` would read.
        checked = Settings(
            **{name.removeprefix("GATEWAY_").lower(): v for name, v in exports.items()}
        )
        results = await run_checks(checked, budget=10)
        assert [(r.name, r.status) for r in results if r.status == "fail"] == []
    assert env_file.name not in os.listdir(tmp_path)


async def test_configured_credentials_are_the_simulators(tmp_path: Path) -> None:
    async with running_demo(tmp_path, pricing_token="my-pricing-token") as info:
        assert _exports(Path(info["env_file"]))["GATEWAY_PRICING_TOKEN"] == "my-pricing-token"
