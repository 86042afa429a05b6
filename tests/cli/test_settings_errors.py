"""Bad settings stop the CLI with exit status 2 and one line naming the culprit, never a traceback.

The line names the environment variable, the TOML file and key, or the
command-line option the bad value came from.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.observability.tracing import exporter_problem
from gateway.settings import Settings, unknown_variables
from tests.cli.support import gateway


def _refused(result: object, *expected: str) -> list[str]:
    """The error lines after checking status 2 and no traceback."""
    assert result.returncode == 2, (result.stdout, result.stderr)  # type: ignore[attr-defined]
    stderr: str = result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in stderr
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    assert lines[0] == "Invalid settings:", stderr
    for fragment in expected:
        assert any(fragment in line for line in lines[1:]), (fragment, stderr)
    return lines[1:]


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("GATEWAY_CACHE_TTLS", "notjson", "GATEWAY_CACHE_TTLS: must be a JSON object"),
        ("GATEWAY_BULKHEAD_LIMITS", "[1, 2", "GATEWAY_BULKHEAD_LIMITS: must be a JSON object"),
        ("GATEWAY_CLIENTS", "acme", "GATEWAY_CLIENTS: must be a JSON array of clients"),
        (
            "GATEWAY_PRICING_TIMEOUT",
            "-1",
            "GATEWAY_PRICING_TIMEOUT: Input should be greater than 0",
        ),
        (
            "GATEWAY_CACHE_TTLS",
            "pricing=soon",
            "GATEWAY_CACHE_TTLS.pricing: Input should be a valid number",
        ),
    ],
)
def test_a_bad_variable_is_one_line(variable: str, value: str, fragment: str) -> None:
    lines = _refused(gateway("serve", **{variable: value}), fragment)
    assert len(lines) == 1


def test_plain_lists_and_pairs_are_read() -> None:
    settings = Settings.model_validate(
        {"cache_ttls": "pricing=5, crm=0", "cache_stale_on_error": "pricing, crm"}
    )
    assert settings.cache_ttls == {"pricing": 5.0, "crm": 0.0}
    assert settings.cache_stale_on_error == ["pricing", "crm"]


def test_a_toml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('port = 8000\n[clients\nid = "x"\n')
    lines = _refused(gateway("serve", "--config", str(config)), str(config), "line 2")
    assert len(lines) == 1
    # GATEWAY_CONFIG names the file just as well.
    _refused(gateway("check", GATEWAY_CONFIG=str(config)), str(config), "not valid TOML")


def test_unknown_and_bad_toml_keys_name_the_file(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('crm_concurency = 3\nport = "high"\n')
    lines = _refused(
        gateway("check", "--config", str(config)),
        f"{config}: crm_concurency: not a setting (did you mean crm_concurrency?)",
        f"{config}: port: Input should be a valid integer",
    )
    assert not any("GATEWAY_CRM_CONCURENCY" in line for line in lines)


def test_the_environment_wins_and_is_named(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text("port = 8000\n")
    _refused(gateway("check", "-c", str(config), GATEWAY_PORT="99999"), "GATEWAY_PORT: Input")


def test_a_bad_option_is_named_as_the_option() -> None:
    _refused(gateway("serve", "--port", "99999"), "--port: Input should be less than or equal")


def test_tracing_without_the_otlp_extra_is_one_line() -> None:
    if exporter_problem(Settings(tracing_enabled=True)) is None:
        pytest.skip("the otlp extra is installed here")
    _refused(
        gateway("serve", GATEWAY_TRACING_ENABLED="true"),
        "GATEWAY_TRACING_EXPORTER=otlp needs the otlp extra: pip install 'boltgate[otlp]'",
    )


def test_a_misspelt_variable_is_warned_about() -> None:
    result = gateway("serve", GATEWAY_PRICNG_URL="http://x", GATEWAY_PORT="-5")
    assert (
        "GATEWAY_PRICNG_URL is not a setting and is ignored (did you mean GATEWAY_PRICING_URL?)"
        in (result.stderr)
    )
    assert (
        unknown_variables({"GATEWAY_PORT": "1", "GATEWAY_TEST_REDIS_URL": "x", "HOME": "/"}) == []
    )
    assert unknown_variables({"gateway_prot": "1"}) == [
        "gateway_prot is not a setting and is ignored (did you mean GATEWAY_PORT?)"
    ]
