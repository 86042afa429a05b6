"""What a serving worker imports: nothing it never runs (each is memory in every worker)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

#: Imported only where used: httpx where a transport is given (it pulls in its CLI:
#: rich, pygments), the simulators where one is built, jsonschema by `gateway check`.
NOT_FOR_SERVING = ("httpx", "rich", "pygments", "simulators", "jsonschema")

#: Imported only by the deployments that use them: redis (and aiocache, whose package
#: imports it) with the caches or GATEWAY_REDIS_URL, PyJWT and cryptography with JWT
#: keys, OpenTelemetry's SDK (and psutil, which it imports) with tracing on, PyYAML
#: with declared bolt-ons. Together ~16 MB of an idle worker's RSS (122 -> 106 MB).
ONLY_WHEN_CONFIGURED = (
    "redis",
    "aiocache",
    "jwt",
    "cryptography",
    "opentelemetry.sdk",
    "psutil",
    "yaml",
)


def _imported_by(code: str, names: tuple[str, ...], env: dict[str, str]) -> list[str]:
    found_of = f"[m for m in {list(names)!r} if m in sys.modules]"
    probe = f"import json, sys; {code}; print(json.dumps({found_of}))"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        # Only the settings given: none from the environment the tests run in.
        env={**{k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}, **env},
    )
    found: list[str] = json.loads(done.stdout)
    return found


def test_the_app_module_imports_no_tooling() -> None:
    assert _imported_by("import gateway.app", NOT_FOR_SERVING, {}) == []


def test_a_plain_app_imports_no_optional_backend(tmp_path: Path) -> None:
    plain = {
        "GATEWAY_ENV": "development",
        "GATEWAY_CORE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'core.db'}",
        "GATEWAY_CACHE_ENABLED": "false",
        "GATEWAY_TRACING_ENABLED": "false",
    }
    build = "import gateway.app; gateway.app.app_from_environment()"
    assert _imported_by(build, ONLY_WHEN_CONFIGURED, plain) == []
    # The probe can fail: the same app with its caches, tracing and a JWT key imports them.
    configured = {
        **plain,
        "GATEWAY_CACHE_ENABLED": "true",
        "GATEWAY_TRACING_ENABLED": "true",
        "GATEWAY_TRACING_EXPORTER": "none",
        "GATEWAY_JWT_HS256_SECRET": "a-secret-of-at-least-thirty-two-bytes!",
    }
    assert {"aiocache", "redis", "opentelemetry.sdk", "jwt"} <= set(
        _imported_by(build, ONLY_WHEN_CONFIGURED, configured)
    )
