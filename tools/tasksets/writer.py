"""Write an imported task: ``DIR/<id>.yaml``, its side files in ``DIR/<id>/`` and
``DIR/<id>/IMPORT_NOTES.md``; the written file must pass ``load_task``."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from perfagent.tools.errors import TaskSpecError
from perfagent.tools.tasksets.model import SECTIONS, ImportedTask, RowError
from perfagent.tools.taskspec import load_task

NOTES_FILE = "IMPORT_NOTES.md"


def write_task(task: ImportedTask, out: Path, *, origin: str) -> Path:
    """Write ``task`` under ``out`` and validate it; replaces an earlier import of the same
    id, but never files that an import did not write. ``origin`` says where it came from."""
    task_file = out / f"{task.id}.yaml"
    side = out / task.id
    if (task_file.exists() or side.exists()) and not (side / NOTES_FILE).is_file():
        raise RowError(
            f"{task_file.name} or {side.name}/ already exists in {out} and was not written by "
            "an import: left alone"
        )
    try:
        if side.exists():
            shutil.rmtree(side)
        side.mkdir(parents=True)
        for name, text in task.files.items():
            (side / name).write_text(text, encoding="utf-8")
        (side / NOTES_FILE).write_text(render_notes(task, origin), encoding="utf-8")
        task_file.write_text(
            yaml.safe_dump(task.spec, sort_keys=False, allow_unicode=True, width=100),
            encoding="utf-8",
        )
    except OSError as exc:
        raise RowError(f"cannot write {task_file}: {exc.strerror}") from exc
    try:
        load_task(task_file)
    except TaskSpecError as exc:
        task_file.unlink()
        shutil.rmtree(side)
        raise RowError(f"the written task does not validate: {exc}") from exc
    return task_file


def render_notes(task: ImportedTask, origin: str) -> str:
    lines = [f"# {task.id}: import notes", "", origin, ""]
    for kind, title in SECTIONS.items():
        notes = [note.text for note in task.notes if note.kind == kind]
        if notes:
            lines += [f"## {title}", "", *(f"- {text}" for text in notes), ""]
    return "\n".join(lines)
