"""Reading one row's fields: text, lists given as lists or JSON strings, repos, ids, diffs.

Every problem raises ``RowError`` with a one-line reason naming the field.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from perfagent.tools.tasksets.model import Note, RowError

Row = Mapping[str, Any]

_OWNER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.][A-Za-z0-9_.-]*$")
_GITHUB = re.compile(r"^https?://github\.com/([^/\s]+/[^/\s]+?)(?:\.git)?/?$")
_GIT_URL = re.compile(r"^(https?://|git://|ssh://|file://|git@[^:]+:)\S+$")
_ID_CHAR = re.compile(r"[^A-Za-z0-9._-]+")


def _absent(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):  # an empty parquet/CSV cell
        return True
    return isinstance(value, str) and not value.strip()


def optional_text(row: Row, *names: str) -> str | None:
    """The first of ``names`` present and non-empty (numbers become text)."""
    for name in names:
        value = row.get(name)
        if _absent(value):
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise RowError(f"field '{name}' must be text, not {type(value).__name__}")
        return str(value)
    return None


def required_text(row: Row, *names: str) -> str:
    value = optional_text(row, *names)
    if value is None:
        raise RowError(f"missing field '{names[0]}'")
    return value


def string_list(row: Row, name: str, *, lines: bool) -> list[str]:
    """A list of strings given as a list or a JSON list; with ``lines``, also as text with
    one item per line (CSV cells). Absent means empty."""
    value = row.get(name)
    if _absent(value):
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise RowError(f"field '{name}' is not a valid JSON list ({exc.msg})") from exc
        elif lines:
            return [line.strip() for line in text.splitlines() if line.strip()]
        else:
            raise RowError(f"field '{name}' must be a list or a JSON list")
    if not isinstance(value, list | tuple):
        raise RowError(f"field '{name}' must be a list, not {type(value).__name__}")
    items = list(value)
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise RowError(f"field '{name}'[{index}] must be text, not {type(item).__name__}")
    return [item for item in items if item.strip()]


def repo_url(repo: str) -> str:
    """``owner/name`` → its GitHub URL; a git URL as given (a GitHub one without ``.git``); an
    absolute local path (a fetched copy or a mirror) as given."""
    repo = repo.strip()
    if repo.startswith("/"):
        return repo
    if _OWNER_NAME.match(repo):
        return f"https://github.com/{repo}"
    github = _GITHUB.match(repo)
    if github:
        return f"https://github.com/{github.group(1)}"
    if _GIT_URL.match(repo):
        return repo
    raise RowError(f"field 'repo': {repo!r} is neither owner/name nor a git URL")


def commitish(value: str, name: str) -> str:
    value = value.strip()
    if not value or value.startswith("-") or any(c.isspace() for c in value):
        raise RowError(f"field '{name}': {value!r} is not a commit")
    return value


def task_id(raw: str) -> tuple[str, list[Note]]:
    """A task id perfagent accepts (letters, digits, ``._-``), and a note when it changed."""
    cleaned = _ID_CHAR.sub("-", raw.strip()).strip("-._")
    if not cleaned:
        raise RowError(f"instance id {raw!r} has no letters or digits")
    if cleaned == raw:
        return cleaned, []
    return cleaned, [Note("caveat", f"instance id {raw!r} is written as {cleaned!r}.")]


def is_diff(text: str) -> bool:
    """Whether ``text`` looks like a unified diff git can apply."""
    lines = text.splitlines()
    if any(line.startswith(("diff --git ", "GIT binary patch")) for line in lines):
        return True
    has_files = any(line.startswith("--- ") for line in lines) and any(
        line.startswith("+++ ") for line in lines
    )
    return has_files and any(line.startswith("@@") for line in lines)
