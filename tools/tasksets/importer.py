"""``import_tasks()``: every row of a source → a task file, or a one-line reason it was
skipped; the outcome is also written to ``DIR/index.json``."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from perfagent.tools.tasksets import gso, sweperf, timeit_script
from perfagent.tools.tasksets.fields import optional_text
from perfagent.tools.tasksets.model import ImportedTask, RowError
from perfagent.tools.tasksets.rows import TaskImportError, read_rows
from perfagent.tools.tasksets.writer import write_task

INDEX_FILE = "index.json"


@dataclass(frozen=True)
class Format:
    title: str
    id_fields: tuple[str, ...]
    convert: Callable[[Mapping[str, Any]], ImportedTask]


FORMATS: dict[str, Format] = {
    "gso": Format(gso.TITLE, gso.ID_FIELDS, gso.convert),
    "swe-perf": Format(sweperf.TITLE, sweperf.ID_FIELDS, sweperf.convert),
    "timeit-script": Format(timeit_script.TITLE, timeit_script.ID_FIELDS, timeit_script.convert),
}


@dataclass(frozen=True)
class Imported:
    id: str
    task: str  # the task file, relative to the output directory
    row: str
    not_translated: int  # steps listed under "Not translated" in IMPORT_NOTES.md


@dataclass(frozen=True)
class Skipped:
    row: str
    id: str | None
    reason: str


@dataclass
class ImportResult:
    format: str
    source: str
    out: str
    imported: list[Imported] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def import_tasks(fmt: str, source: Path, out: Path) -> ImportResult:
    """Import every row of ``source`` (a file or a directory of files) as ``fmt`` into
    ``out``. Raises TaskImportError only when the source cannot be read at all."""
    if fmt not in FORMATS:
        raise TaskImportError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    kind = FORMATS[fmt]
    rows = read_rows(source)
    if not rows:
        raise TaskImportError(f"{source}: holds no rows")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TaskImportError(
            f"{out}: cannot create the output directory ({exc.strerror})"
        ) from exc
    result = ImportResult(fmt, str(source), str(out))
    first_seen: dict[str, str] = {}
    for row in rows:
        raw_id = _raw_id(row.data, kind.id_fields)
        if row.data is None:
            result.skipped.append(Skipped(row.label, None, row.error or "not an object"))
            continue
        try:
            task = kind.convert(row.data)
            if task.id in first_seen:
                raise RowError(f"duplicate id {task.id!r} (first at {first_seen[task.id]})")
            origin = f"Imported by `perfagent tasks import {fmt}` from {source} ({row.label})."
            task_file = write_task(task, out, origin=origin)
        except RowError as exc:
            result.skipped.append(Skipped(row.label, raw_id, str(exc)))
            continue
        first_seen[task.id] = row.label
        result.imported.append(Imported(task.id, task_file.name, row.label, task.not_translated))
    index = out / INDEX_FILE
    try:
        index.write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise TaskImportError(f"cannot write {index}: {exc.strerror}") from exc
    return result


def _raw_id(data: Mapping[str, Any] | None, names: tuple[str, ...]) -> str | None:
    if data is None:
        return None
    try:
        return optional_text(data, *names)
    except RowError:
        return None
