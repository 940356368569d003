"""Write ``[tool.perfagent]`` into a ``pyproject.toml``, leaving the rest of the file as it
is (text in, text out: comments and layout survive). An existing table is replaced only when
asked, and only when it is written as ``[tool.perfagent]`` headers."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from perfagent.tools.errors import TaskSpecError

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def has_table(pyproject: Path) -> bool:
    return pyproject.is_file() and "perfagent" in _parse(pyproject).get("tool", {})


def write_table(pyproject: Path, config: dict[str, Any], *, replace: bool, comment: str) -> None:
    """Add (or with ``replace``, swap in) ``[tool.perfagent]`` = ``config``."""
    text = pyproject.read_text(encoding="utf-8") if pyproject.is_file() else ""
    if has_table(pyproject):
        if not replace:
            raise TaskSpecError(f"{pyproject}: [tool.perfagent] exists (--force replaces it)")
        text = _without_table(pyproject, text)
    table = render(config, comment)
    text = text.rstrip("\n") + "\n\n" + table if text.strip() else table
    written = tomllib.loads(text).get("tool", {}).get("perfagent")
    if written != config:  # a bug here must never leave a broken file behind
        raise AssertionError(f"rendered [tool.perfagent] reads back as {written!r}")
    pyproject.write_text(text, encoding="utf-8")


def _parse(pyproject: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise TaskSpecError(f"{pyproject}: not valid TOML ({exc})") from exc


def _without_table(pyproject: Path, text: str) -> str:
    kept: list[str] = []
    inside = False
    for line in text.splitlines(keepends=True):
        header = _HEADER.match(line)
        if header:
            name = header.group(1).replace(" ", "").replace('"', "")
            inside = name == "tool.perfagent" or name.startswith("tool.perfagent.")
        if not inside:
            kept.append(line)
    result = "".join(kept)
    if "perfagent" in tomllib.loads(result).get("tool", {}):
        raise TaskSpecError(
            f"{pyproject}: [tool.perfagent] is not written as its own table; edit it by hand"
        )
    return result


def render(config: dict[str, Any], comment: str) -> str:
    """``config`` as TOML: plain keys under ``[tool.perfagent]``, tables as sub-tables."""
    lines = [f"# {line}".rstrip() for line in comment.splitlines()]
    lines.append("[tool.perfagent]")
    tables = {k: v for k, v in config.items() if isinstance(v, dict)}
    lines += [f"{key} = {_value(value)}" for key, value in config.items() if key not in tables]
    for key, table in tables.items():
        lines += ["", f"[tool.perfagent.{key}]"]
        lines += [f"{k} = {_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML string
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + "".join(f"    {_value(v)},\n" for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")
