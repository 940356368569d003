"""What a command's environment may hold: a few inherited variables, never a credential."""

from __future__ import annotations

import os
from collections.abc import Mapping

_INHERITED = frozenset(
    {"PATH", "HOME", "LANG", "LANGUAGE", "TERM", "TZ", "TMPDIR", "USER", "LOGNAME", "SHELL"}
)
# Most of these also match the patterns below; listed so the intent survives edits to those.
# GOOGLE_APPLICATION_CREDENTIALS, HF_TOKEN, HUGGING_FACE_HUB_TOKEN and NPM_TOKEN are caught
# by _SECRET_WORDS (tests pin each of them); only the agent socket needs its own entry.
_SECRET_NAMES = frozenset({"SSH_AUTH_SOCK"})
_SECRET_PREFIXES = ("GITHUB_", "GH_", "AWS_", "AZURE_", "OPENAI_", "ANTHROPIC_", "PYPI_", "TWINE_")
_SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL")
_KEY_QUALIFIERS = ("API", "SECRET", "ACCESS", "PRIVATE")
# Matches *TOKEN* but is a well-known tuning knob (Hugging Face tokenizers), not a secret.
_NOT_SECRET = frozenset({"TOKENIZERS_PARALLELISM"})


def is_secret(name: str) -> bool:
    """Whether an environment variable's name says it holds a credential."""
    upper = name.upper()
    if upper in _NOT_SECRET:
        return False
    return (
        upper in _SECRET_NAMES
        or upper.startswith(_SECRET_PREFIXES)
        or any(word in upper for word in _SECRET_WORDS)
        or (upper.endswith("_KEY") and any(q in upper for q in _KEY_QUALIFIERS))
    )


def scrub_env(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` without every variable whose name looks like it holds a credential."""
    return {name: value for name, value in env.items() if not is_secret(name)}


def command_env(extra: Mapping[str, str] | None, inherit: bool) -> dict[str, str]:
    env: dict[str, str] = {}
    if inherit:
        env = {k: v for k, v in os.environ.items() if k in _INHERITED or k.startswith("LC_")}
    env.update(extra or {})
    return scrub_env(env)
