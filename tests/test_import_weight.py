"""What a serving worker imports: no tooling it never runs (each is memory in every worker)."""

from __future__ import annotations

import json
import subprocess
import sys

#: Imported only where used: httpx where a transport is given (it pulls in its CLI:
#: rich, pygments), the simulators where one is built, jsonschema by `gateway check`.
NOT_FOR_SERVING = ("httpx", "rich", "pygments", "simulators", "jsonschema")


def test_the_app_module_imports_no_tooling() -> None:
    probe = (
        "import json, sys, gateway.app; "
        f"print(json.dumps([m for m in {list(NOT_FOR_SERVING)!r} if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(done.stdout) == []
