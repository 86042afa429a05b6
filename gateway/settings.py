"""The gateway's one typed settings object.

Read once at the edge (CLI or app factory) from ``GATEWAY_*`` environment
variables and an optional TOML file, then passed down. Nothing else in the
gateway reads ``os.environ``. Tests build ``Settings(...)`` directly.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from gateway.backends_settings import BackendSettings
from gateway.caching.settings import CachingSettings
from gateway.http.settings import HttpSettings
from gateway.limits.settings import LimitsSettings
from gateway.observability.settings import ObservabilitySettings
from gateway.security.settings import SecuritySettings
from gateway.writes.settings import WritesSettings
from plugins import BuiltInSettings


class Settings(
    BackendSettings,
    BuiltInSettings,
    HttpSettings,
    ObservabilitySettings,
    SecuritySettings,
    LimitsSettings,
    CachingSettings,
    WritesSettings,
    BaseSettings,
):
    """Everything an operator can configure: one group per wing, each beside its code,
    and one per code plugin (``plugins.BuiltInSettings``).

    ``SharedSettings`` (``env``, ``redis_url``) is the base of the wings'
    groups. A service is built by ``X.from_settings(settings, ...)`` typed
    against the group it reads: it takes this object or its group alone.

    Example:
        >>> Settings(env="production", pricing_url="http://pricing:8101").env
        'production'
    """

    model_config = SettingsConfigDict(
        env_prefix="GATEWAY_",
        extra="forbid",
        validate_default=True,
    )

    # Where an optional TOML file was read from (``--config`` / ``GATEWAY_CONFIG``).
    config: Path | None = Field(default=None, description="Path of an optional TOML settings file.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments, then environment, then the TOML file.
        environment = _EnvironmentSource(settings_cls)
        sources: list[PydanticBaseSettingsSource] = [init_settings, environment]
        toml_path = _toml_path(init_settings, environment)
        if toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)


class _EnvironmentSource(EnvSettingsSource):
    """``GATEWAY_*`` variables; a list or object that is not JSON goes to the field as text.

    pydantic-settings fails on the first non-JSON value with a traceback that
    names no variable; the fields' own validators read the plain forms
    (``a,b``; ``pricing=60``) and refuse the rest with a message that does.
    """

    def decode_complex_value(self, field_name: str, field: FieldInfo, value: Any) -> Any:
        try:
            return super().decode_complex_value(field_name, field, value)
        except ValueError:
            return value


def _toml_path(*sources: PydanticBaseSettingsSource) -> Path | None:
    for source in sources:
        value: Any = source().get("config")
        if value:
            return Path(value)
    return None


class SettingsFileError(ValueError):
    """The TOML settings file cannot be read; the message names the file."""


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Read settings from the environment and an optional TOML file.

    Raises:
        pydantic.ValidationError: naming every bad key (``explain`` words it).
        FileNotFoundError: when the named TOML file does not exist.
        SettingsFileError: when it is not valid TOML.
    """
    if config is not None:
        if not config.is_file():
            raise FileNotFoundError(f"settings file not found: {config}")
        overrides["config"] = config
    toml_file = config_file(config)
    if toml_file is not None:
        read_toml(toml_file)  # its syntax errors, with the file's name
    return Settings(**overrides)


def config_file(config: Path | None, environ: Mapping[str, str] | None = None) -> Path | None:
    """The TOML file settings are read from: ``config``, else ``GATEWAY_CONFIG``."""
    if config is not None:
        return config
    value = _lookup(os.environ if environ is None else environ, "GATEWAY_CONFIG")
    return Path(value) if value else None


def read_toml(path: Path) -> dict[str, Any]:
    """The TOML file's table.

    Raises:
        FileNotFoundError: the file does not exist.
        SettingsFileError: it cannot be read or is not valid TOML.
    """
    if not path.is_file():
        raise FileNotFoundError(f"settings file not found: {path}")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SettingsFileError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsFileError(f"{path}: cannot be read: {exc}") from None


def _lookup(environ: Mapping[str, str], name: str) -> str | None:
    # pydantic-settings matches variable names without regard to case.
    for key, value in environ.items():
        if key.upper() == name:
            return value
    return None


def env_name(field: str) -> str:
    """``GATEWAY_PRICING_URL`` for ``pricing_url``."""
    return f"GATEWAY_{field.upper()}"


def explain(
    error: ValidationError,
    *,
    config: Path | None = None,
    environ: Mapping[str, str] | None = None,
    options: Mapping[str, str] | None = None,
) -> list[str]:
    """One line per invalid value, naming where it came from.

    Args:
        error: what ``Settings`` raised.
        config: the TOML file, if one was named on the command line.
        environ: the environment the settings were read from.
        options: command-line options by field (``{"port": "--port"}``).

    Example:
        >>> try:
        ...     Settings(crm_concurrency=0)
        ... except ValidationError as exc:
        ...     explain(exc, environ={})
        ['GATEWAY_CRM_CONCURRENCY: Input should be greater than or equal to 1']
    """
    environ = os.environ if environ is None else environ
    options = options or {}
    toml_file = config_file(config, environ)
    in_file: dict[str, Any] = {}
    if toml_file is not None:
        try:
            in_file = read_toml(toml_file)
        except (FileNotFoundError, SettingsFileError):
            in_file = {}
    lines: list[str] = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        rest = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in item["loc"][1:])
        message = item["msg"].removeprefix("Value error, ")
        if field in options:
            where = options[field]
        elif field and _lookup(environ, env_name(field)) is not None:
            where = env_name(field)
        elif field in in_file:
            where = f"{toml_file}: {field}"
        else:
            where = env_name(field) if field else "settings"
        if item["type"] == "extra_forbidden" and len(item["loc"]) == 1:
            guess = difflib.get_close_matches(field, Settings.model_fields, n=1)
            message = "not a setting" + (f" (did you mean {guess[0]}?)" if guess else "")
        lines.append(f"{where}{rest}: {message}")
    return lines


def unknown_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """A warning for each ``GATEWAY_*`` variable that is no setting (a typo is silently ignored).

    ``GATEWAY_TEST_*`` variables belong to the test suite, and
    ``GATEWAY_BOLT_ON_<NAME>_URL``/``_TIMEOUT``/``_CACHE_TTL`` to the declared
    bolt-ons (``gateway.bolt_ons.declaration``); they are left alone.
    """
    environ = os.environ if environ is None else environ
    known = {env_name(field) for field in Settings.model_fields}
    warnings: list[str] = []
    for key in sorted(environ):
        name = key.upper()
        if not name.startswith("GATEWAY_") or name in known:
            continue
        if name.startswith(("GATEWAY_TEST_", "GATEWAY_BOLT_ON_")):
            continue
        guess = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {guess[0]}?)" if guess else ""
        warnings.append(f"{key} is not a setting and is ignored{hint}")
    return warnings
