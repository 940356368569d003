"""The App's settings, from a TOML file and/or ``PERFAGENT_APP_*`` environment variables
(the environment wins), read by pydantic-settings. Every problem is one line naming the setting.

    app_id = 424242
    private_key_path = "/etc/perfagent/app.pem"
    webhook_secret = "..."            # 32+ bytes; better PERFAGENT_APP_WEBHOOK_SECRET
    allowed_installations = [1, 2]    # required: installation ids, or "*" for every one
    data_dir = "/var/lib/perfagent"
    workers = 1
    default_model = "rules"
    allowed_models = ["rules"]
    draft_pulls = false               # open the pull requests as drafts
    on_flagged = "draft"              # a guard-flagged speedup: a draft PR naming each flag
    candidates_per_round = 4          # machine time per job: candidates measured per round ...
    max_runs = 60                     # ... and processes per variant for one verdict
    max_job_time_s = 7200             # a job measures no new candidate after this much time ...
    max_job_cost = 5.0                # ... or model spending (USD); it finalizes what it kept
    isolation = "required"            # the sandbox around jobs: required, best-effort or off

In the environment, lists are comma-separated (``PERFAGENT_APP_ALLOWED_INSTALLATIONS=3,4``).
Secrets read from the environment leave it once read (``perfagent.tools.secrets.take``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from perfagent.tools import secrets
from perfagent.tools.errors import PerfagentError
from perfagent.tools.github import DEFAULT_API_URL
from perfagent.tools.runner.sandbox import IsolationLevel

ENV_PREFIX = "PERFAGENT_APP_"
MIN_SECRET_BYTES = 32  # a webhook secret anyone could guess lets anyone queue jobs
SECRET_SETTINGS = ("webhook_secret",)  # taken out of os.environ once read
ALL_INSTALLATIONS = "*"


class ConfigError(PerfagentError):
    """The App's settings are missing or malformed."""


def _split(value: Any) -> Any:
    """A comma-separated environment value as a list (TOML gives lists already)."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class AppConfig(BaseModel):
    """The App's settings (validated; construct directly in tests, ``load_config`` in use)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    app_id: int
    private_key_path: Path
    webhook_secret: SecretStr
    data_dir: Path
    # Required, never "empty means all": the installation ids served, or "*" (a public App).
    allowed_installations: Annotated[frozenset[int] | Literal["*"], NoDecode]
    workers: Annotated[int, Field(ge=1, le=64)] = 1
    default_model: str = "rules"
    allowed_models: Annotated[tuple[str, ...], NoDecode] = ()  # the default model is added
    api_url: str = DEFAULT_API_URL
    min_speedup: Annotated[float, Field(gt=1.0)] = 1.05  # a smaller kept speedup is not worth a PR
    cooldown_s: Annotated[float, Field(ge=0.0)] = 3600.0  # between two runs on the same repository
    draft_pulls: bool = False
    # A verified speedup the reward-hack guard flagged: a draft PR whose body names each
    # flag, or only a comment naming them. Never dropped silently.
    on_flagged: Literal["draft", "comment"] = "draft"
    candidates_per_round: Annotated[int, Field(ge=1, le=16)] = 4
    max_runs: Annotated[int, Field(ge=5, le=1000)] = 60  # per variant and workload, for one verdict
    # Per job: the loop measures no new candidate once either is used up, then finalizes what it
    # kept, so one repository cannot hold a worker (or the model bill) without bound.
    max_job_time_s: Annotated[float, Field(gt=0.0)] = 7200.0
    max_job_cost: Annotated[float, Field(ge=0.0)] = 5.0  # USD, model calls only
    # Jobs run strangers' code unattended: the sandbox is required unless the operator says.
    isolation: IsolationLevel = "required"

    @field_validator("private_key_path", "data_dir", mode="before")
    @classmethod
    def _path(cls, value: Any) -> Any:
        if value == "":
            raise ValueError("missing")
        return Path(value).expanduser() if isinstance(value, str | Path) else value

    @field_validator("webhook_secret")
    @classmethod
    def _long_secret(cls, value: SecretStr) -> SecretStr:
        size = len(value.get_secret_value().encode())
        if size < MIN_SECRET_BYTES:
            raise ValueError(
                f"{size} bytes; use at least {MIN_SECRET_BYTES} random bytes"
                " (python -c 'import secrets; print(secrets.token_hex(32))')"
            )
        return value

    @field_validator("allowed_installations", mode="before")
    @classmethod
    def _installations(cls, value: Any) -> Any:
        if value == ALL_INSTALLATIONS or value == [ALL_INSTALLATIONS]:
            return ALL_INSTALLATIONS
        items = _split(value)
        if isinstance(items, list | tuple | set | frozenset) and not items:
            raise ValueError(
                'empty; list the installation ids to serve, or "*" for every installation'
            )
        return items

    @field_validator("allowed_models", mode="before")
    @classmethod
    def _models(cls, value: Any) -> Any:
        items = _split(value)
        if isinstance(items, list | tuple) and not all(isinstance(i, str) and i for i in items):
            raise ValueError(f"expected a list of names, got {items!r}")
        return items

    @field_validator("allowed_models", mode="after")
    @classmethod
    def _with_default(cls, value: tuple[str, ...], info: Any) -> tuple[str, ...]:
        default = info.data.get("default_model", "rules")
        return value if default in value else (default, *value)

    def installation_allowed(self, installation_id: int) -> bool:
        allowed = self.allowed_installations
        return allowed == ALL_INSTALLATIONS or installation_id in allowed

    def read_private_key(self) -> bytes:
        """The App's private key; the service reads it once, at start."""
        try:
            return self.private_key_path.read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"private_key_path: cannot read {self.private_key_path} ({exc.strerror})"
            ) from exc

    @property
    def secret(self) -> str:
        return self.webhook_secret.get_secret_value()

    @property
    def queue_path(self) -> Path:
        return self.data_dir / "app.sqlite"

    @property
    def runs_dir(self) -> Path:
        return self.data_dir / "runs"


class _Settings(AppConfig, BaseSettings):
    """``AppConfig`` read from the environment over the TOML file's values (given as init)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (env_settings, init_settings)


def load_config(path: Path | None = None) -> AppConfig:
    """Settings from ``path`` (TOML, optional) overridden by ``PERFAGENT_APP_*`` variables;
    the secrets among those are then removed from the environment (and the process's
    ``/proc/<pid>/environ``)."""
    data = _read_toml(path) if path is not None else {}
    try:
        config = _Settings(**data)
    except ValidationError as exc:
        raise _one_line(exc, str(path) if path else "environment") from None
    for key in SECRET_SETTINGS:
        secrets.take(ENV_PREFIX + key.upper())
    return config


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc


# -- one line per problem ------------------------------------------------------------------------
_EXPECTED = {
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "string": "a string",
    "frozen_set": "a list",
    "tuple": "a list",
}


def _one_line(exc: ValidationError, source: str) -> ConfigError:
    """The first problem (an unknown setting, then a missing one, then a malformed one),
    named by its setting."""
    rank = {"extra_forbidden": 0, "missing": 1}
    errors = sorted(exc.errors(), key=lambda e: rank.get(e["type"], 2))
    error = errors[0]
    key = str(error["loc"][0]) if error["loc"] else "(settings)"
    if error["type"] == "extra_forbidden":
        known = ", ".join(AppConfig.model_fields)
        return ConfigError(f"{source}: unknown setting {key!r} (known: {known})")
    return ConfigError(f"{key}: {_problem(key, error)}")


def _problem(key: str, error: ErrorDetails) -> str:
    kind, given = error["type"], error.get("input")
    if kind == "missing":
        return f"missing (set it in the config file or {ENV_PREFIX}{key.upper()})"
    if kind == "value_error":
        return str((error.get("ctx") or {}).get("error", error["msg"]))
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return _bounds(key, given)
    if key == "allowed_installations":  # a union: pydantic names each branch
        return f'expected installation ids or "*", got {given!r}'
    for prefix, expected in _EXPECTED.items():
        if kind.startswith(prefix + "_"):
            return f"expected {expected}, got {given!r}"
    return str(error["msg"])


def _bounds(key: str, given: Any) -> str:
    bounds = {type(m).__name__: m for m in AppConfig.model_fields[key].metadata}
    if "Ge" in bounds and "Le" in bounds:
        return f"{given} is not between {bounds['Ge'].ge} and {bounds['Le'].le}"
    if "Gt" in bounds:
        return f"{given} must be above {bounds['Gt'].gt:g}"
    if "Ge" in bounds and bounds["Ge"].ge == 0:
        return f"{given} must not be negative"
    return f"{given} is out of range"
