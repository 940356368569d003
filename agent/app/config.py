"""The App's settings, from a TOML file and/or ``PERFAGENT_APP_*`` environment variables
(the environment wins). Every problem is one line naming the setting.

    app_id = 424242
    private_key_path = "/etc/perfagent/app.pem"
    webhook_secret = "..."            # or PERFAGENT_APP_WEBHOOK_SECRET
    allowed_installations = [1, 2]    # empty or absent: every installation
    data_dir = "/var/lib/perfagent"
    workers = 1
    default_model = "rules"
    allowed_models = ["rules"]
    draft_pulls = false               # open the pull requests as drafts
    candidates_per_round = 4          # machine time per job: candidates measured per round ...
    max_runs = 60                     # ... and processes per variant for one verdict
    max_job_time_s = 7200             # a job measures no new candidate after this much time ...
    max_job_cost = 5.0                # ... or model spending (USD); it finalizes what it kept
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfagent.tools.errors import PerfagentError
from perfagent.tools.github import DEFAULT_API_URL

ENV_PREFIX = "PERFAGENT_APP_"
_KEYS = (
    "app_id",
    "private_key_path",
    "webhook_secret",
    "allowed_installations",
    "data_dir",
    "workers",
    "default_model",
    "allowed_models",
    "api_url",
    "min_speedup",
    "cooldown_s",
    "draft_pulls",
    "candidates_per_round",
    "max_runs",
    "max_job_time_s",
    "max_job_cost",
)


class ConfigError(PerfagentError):
    """The App's settings are missing or malformed."""


@dataclass(frozen=True)
class AppConfig:
    app_id: int
    private_key_path: Path
    webhook_secret: str
    data_dir: Path
    allowed_installations: frozenset[int] = frozenset()  # empty: all installations
    workers: int = 1
    default_model: str = "rules"
    allowed_models: tuple[str, ...] = ("rules",)
    api_url: str = DEFAULT_API_URL
    min_speedup: float = 1.05  # a kept speedup below this is not worth a pull request
    cooldown_s: float = 3600.0  # between two runs on the same repository
    draft_pulls: bool = False
    candidates_per_round: int = 4
    max_runs: int = 60  # per variant and workload, for one verdict
    # Per job: the loop measures no new candidate once either is used up, then finalizes what it
    # kept, so one repository cannot hold a worker (or the model bill) without bound.
    max_job_time_s: float = 7200.0
    max_job_cost: float = 5.0  # USD, model calls only

    def installation_allowed(self, installation_id: int) -> bool:
        return not self.allowed_installations or installation_id in self.allowed_installations

    def private_key(self) -> bytes:
        try:
            return self.private_key_path.read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"private_key_path: cannot read {self.private_key_path} ({exc.strerror})"
            ) from exc

    @property
    def queue_path(self) -> Path:
        return self.data_dir / "app.sqlite"

    @property
    def runs_dir(self) -> Path:
        return self.data_dir / "runs"


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> AppConfig:
    """Settings from ``path`` (TOML, optional) overridden by ``env`` (default ``os.environ``)."""
    raw: dict[str, Any] = {}
    if path is not None:
        raw = _read_toml(path)
    environ = os.environ if env is None else env
    for key in _KEYS:
        value = environ.get(ENV_PREFIX + key.upper())
        if value is not None:
            raw[key] = value
    return _build(raw, str(path) if path else "environment")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown setting {unknown[0]!r} (known: {', '.join(_KEYS)})")
    return data


def _build(raw: dict[str, Any], source: str) -> AppConfig:
    for key in ("app_id", "private_key_path", "webhook_secret", "data_dir"):
        if raw.get(key) in (None, ""):
            env_name = ENV_PREFIX + key.upper()
            raise ConfigError(f"{key}: missing (set it in the config file or {env_name})")
    default_model = _text(raw, "default_model", "rules")
    allowed = _text_list(raw, "allowed_models") or [default_model]
    if default_model not in allowed:
        allowed.insert(0, default_model)
    workers = _int_between(raw, "workers", 1, 1, 64)
    min_speedup = _float_above(raw, "min_speedup", 1.05, 1.0)
    cooldown = _float_above(raw, "cooldown_s", 3600.0, 0.0, or_equal=True)
    candidates = _int_between(raw, "candidates_per_round", 4, 1, 16)
    max_runs = _int_between(raw, "max_runs", 60, 5, 1000)
    max_job_time = _float_above(raw, "max_job_time_s", 7200.0, 0.0)
    max_job_cost = _float_above(raw, "max_job_cost", 5.0, 0.0, or_equal=True)
    return AppConfig(
        app_id=_int(raw, "app_id", 0),
        private_key_path=Path(_text(raw, "private_key_path", "")).expanduser(),
        webhook_secret=_text(raw, "webhook_secret", ""),
        data_dir=Path(_text(raw, "data_dir", "")).expanduser(),
        allowed_installations=frozenset(_int_list(raw, "allowed_installations")),
        workers=workers,
        default_model=default_model,
        allowed_models=tuple(allowed),
        api_url=_text(raw, "api_url", DEFAULT_API_URL),
        min_speedup=min_speedup,
        cooldown_s=cooldown,
        draft_pulls=_bool(raw, "draft_pulls", False),
        candidates_per_round=candidates,
        max_runs=max_runs,
        max_job_time_s=max_job_time,
        max_job_cost=max_job_cost,
    )


def _text(raw: dict[str, Any], key: str, default: str) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    return value


def _int(raw: dict[str, Any], key: str, default: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool):
        raise ConfigError(f"{key}: expected a whole number, got {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{key}: expected a whole number, got {value!r}") from exc


def _int_between(raw: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = _int(raw, key, default)
    if not low <= value <= high:
        raise ConfigError(f"{key}: {value} is not between {low} and {high}")
    return value


def _float_above(
    raw: dict[str, Any], key: str, default: float, bound: float, *, or_equal: bool = False
) -> float:
    value = _float(raw, key, default)
    if value < bound or (value == bound and not or_equal):
        if or_equal and bound == 0:
            raise ConfigError(f"{key}: {value} must not be negative")
        raise ConfigError(f"{key}: {value} must be {'at least' if or_equal else 'above'} {bound:g}")
    return value


def _bool(raw: dict[str, Any], key: str, default: bool) -> bool:
    value = raw.get(key, default)
    if isinstance(value, str):  # from the environment
        words = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
        if value.strip().lower() in words:
            return words[value.strip().lower()]
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    return value


def _float(raw: dict[str, Any], key: str, default: float) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool):
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{key}: expected a number, got {value!r}") from exc


def _items(raw: dict[str, Any], key: str) -> list[Any]:
    value = raw.get(key, [])
    if isinstance(value, str):  # from the environment: comma-separated
        return [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list):
        raise ConfigError(f"{key}: expected a list, got {value!r}")
    return value


def _text_list(raw: dict[str, Any], key: str) -> list[str]:
    items = _items(raw, key)
    if not all(isinstance(item, str) and item for item in items):
        raise ConfigError(f"{key}: expected a list of names, got {items!r}")
    return list(items)


def _int_list(raw: dict[str, Any], key: str) -> list[int]:
    return [_int({key: item}, key, 0) for item in _items(raw, key)]
