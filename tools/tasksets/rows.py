"""Rows of a dataset from local files: JSON (a list, or JSON lines as Hugging Face writes
them), JSONL, CSV and parquet, or a directory holding such files (searched recursively, in
name order). A row that is not an object is kept as an error so the import can report it."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfagent.tools.errors import PerfagentError
from perfagent.tools.extras import require

SUFFIXES = (".json", ".jsonl", ".csv", ".parquet")


class TaskImportError(PerfagentError):
    """The import's source cannot be read at all (missing, unknown type, not JSON...)."""


@dataclass(frozen=True)
class SourceRow:
    """One row and where it came from (``file:line`` or ``file:row``)."""

    label: str
    data: dict[str, Any] | None
    error: str | None = None


def read_rows(source: Path) -> list[SourceRow]:
    if source.is_dir():
        files = sorted(
            p
            for p in source.rglob("*")
            if p.is_file()
            and p.suffix in SUFFIXES
            and not any(part.startswith(".") for part in p.relative_to(source).parts)
        )
        if not files:
            raise TaskImportError(f"{source}: no {', '.join(SUFFIXES)} files in this directory")
        return [row for path in files for row in _read_file(path, path.relative_to(source))]
    if not source.is_file():
        raise TaskImportError(f"{source}: no such file or directory")
    if source.suffix not in SUFFIXES:
        raise TaskImportError(f"{source}: not a {', '.join(SUFFIXES)} file")
    return list(_read_file(source, Path(source.name)))


def _read_file(path: Path, name: Path) -> Iterator[SourceRow]:
    if path.suffix == ".parquet":
        yield from _objects(name, "row", _parquet(path))
        return
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TaskImportError(f"{path}: cannot read as UTF-8 text ({exc})") from exc
    if path.suffix == ".csv":
        yield from _objects(name, "row", _csv(text))
    elif path.suffix == ".json":
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            if not text.lstrip().startswith("{"):
                raise TaskImportError(
                    f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})"
                ) from exc
            # ``datasets`` writes .json files with one object per line.
            yield from _json_lines(name, text)
            return
        yield from _objects(name, "item", _json_items(path, document))
    else:
        yield from _json_lines(name, text)


def _objects(name: Path, unit: str, items: list[Any]) -> Iterator[SourceRow]:
    for number, item in enumerate(items, start=1):
        label = f"{name}:{unit} {number}"
        if isinstance(item, dict):
            yield SourceRow(label, item)
        else:
            yield SourceRow(label, None, f"not an object but {type(item).__name__}")


def _json_lines(name: Path, text: str) -> Iterator[SourceRow]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        label = f"{name}:line {number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            yield SourceRow(label, None, f"not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        if isinstance(item, dict):
            yield SourceRow(label, item)
        else:
            yield SourceRow(label, None, f"not an object but {type(item).__name__}")


def _json_items(path: Path, document: Any) -> list[Any]:
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        lists = [v for v in document.values() if isinstance(v, list)]
        if len(document) == 1 and lists:  # {"test": [...]}: one split
            return lists[0]
        return [document]  # one instance
    raise TaskImportError(f"{path}: expected a list of objects, found {type(document).__name__}")


def _csv(text: str) -> list[Any]:
    # Scripts and diffs in one cell easily pass csv's default 128 KiB field limit.
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    return list(csv.DictReader(text.splitlines(keepends=True)))


def _parquet(path: Path) -> list[Any]:
    require("parquet", f"reading {path}")
    import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]

    try:
        rows: list[Any] = pq.read_table(path).to_pylist()
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        message = " ".join(str(exc).split())[:200]
        raise TaskImportError(f"{path}: not a readable parquet file ({message})") from exc
    return rows
