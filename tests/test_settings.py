"""Settings: environment, TOML file, validation errors that name the key, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.settings import Settings, load_settings


def test_environment_overrides_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('crm_concurrency = 3\nenv = "production"\npricing_url = "http://p:1"\n')
    monkeypatch.setenv("GATEWAY_PRICING_URL", "http://from-env:2")
    settings = load_settings(config)
    assert settings.crm_concurrency == 3
    assert settings.env == "production"
    assert settings.pricing_url == "http://from-env:2"
    assert settings.graphiql_enabled is False
    assert settings.introspection_enabled is False


def test_bad_value_names_the_key() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(crm_concurrency=0)
    assert caught.value.errors()[0]["loc"] == ("crm_concurrency",)


def test_unknown_key_in_toml_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text("crm_concurency = 3\n")
    with pytest.raises(ValidationError, match="crm_concurency"):
        load_settings(config)


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="settings file not found"):
        load_settings(tmp_path / "absent.toml")


def test_secrets_never_print() -> None:
    settings = Settings(pricing_token="s3cret-token", crm_api_key="k3y")
    assert "s3cret-token" not in repr(settings)
    assert "k3y" not in str(settings)
    assert settings.pricing_token is not None
    assert settings.pricing_token.get_secret_value() == "s3cret-token"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_database_url_gets_the_async_driver(given: str, expected: str) -> None:
    assert Settings(core_database_url=given).core_database_url == expected


def test_unsupported_database_url_is_refused() -> None:
    with pytest.raises(ValidationError, match="core_database_url"):
        Settings(core_database_url="mysql://u@h/db")


def test_each_validator_name_is_used_by_one_settings_group() -> None:
    # Settings composes the wings' groups by inheritance: two groups defining a validator
    # of the same name would silently keep only one of them.
    seen: dict[str, str] = {}
    for group in Settings.__mro__[1:]:
        decorators = group.__dict__.get("__pydantic_decorators__")
        if decorators is None or group.__module__.startswith("pydantic"):
            continue
        own = {**decorators.field_validators, **decorators.model_validators}
        # Only those the group defines itself (pydantic lists the inherited ones too).
        defined_here = f"{group.__module__}.{group.__qualname__}:"
        names = [name for name, info in own.items() if info.cls_ref.startswith(defined_here)]
        for name in names:
            assert name not in seen, f"{group.__name__}.{name} also in {seen.get(name)}"
            seen[name] = group.__name__
    assert len(seen) >= 5  # the groups' validators were found
