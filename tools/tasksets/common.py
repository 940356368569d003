"""Pieces every importer uses: the expert patch file, notes about workloads and builds,
the pointer to IMPORT_NOTES.md in a task's description, and the spec's shape."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from perfagent.tools.tasksets import scripts
from perfagent.tools.tasksets.commands import installs_local_project
from perfagent.tools.tasksets.fields import Row, is_diff
from perfagent.tools.tasksets.model import Note, RowError

EXPERT_FILE = "expert.diff"


def expert_patch(task_id: str, diff: str, field: str, files: dict[str, str]) -> dict[str, str]:
    """Keep ``diff`` as ``DIR/<id>/expert.diff``; the task's ``expert`` mapping."""
    if not is_diff(diff):
        raise RowError(f"field '{field}' is not a unified diff")
    files[EXPERT_FILE] = diff if diff.endswith("\n") else diff + "\n"
    return {"patch": f"{task_id}/{EXPERT_FILE}"}


def network_note(file: str, source: str) -> list[Note]:
    calls = scripts.network_calls(source)
    if not calls:
        return []
    return [
        Note(
            "caveat",
            f"`{file}` downloads data ({', '.join(calls)}): perfagent runs workloads without "
            "network (`unshare -n`), so it fails unless that data is already where the script "
            "looks for it.",
        )
    ]


def build_note(build: Sequence[str]) -> list[Note]:
    installs = [command for command in build if installs_local_project(command)]
    if not installs:
        return []
    text = (
        "build pip-installs the project into the venv that every variant shares, while "
        "perfagent runs each variant's code from its own tree (first on PYTHONPATH): a project "
        "with compiled extensions needs an in-place build instead (e.g. `python setup.py "
        "build_ext --inplace`)."
    )
    if any("--no-build-isolation" not in command for command in installs):
        text += (
            " build also runs without network, so pip's build isolation cannot download build "
            "requirements: install them in setup and add `--no-build-isolation`."
        )
    return [Note("caveat", text)]


def repo_label(url: str) -> str:
    """``https://github.com/owner/name`` → ``owner/name``; other URLs as they are."""
    return url.removeprefix("https://github.com/")


def unused_fields(row: Row, names: Sequence[str], why: Mapping[str, str]) -> list[Note]:
    """One note naming the fields of ``names`` the row has; ``why`` explains some of them."""
    present = [name for name in names if row.get(name) not in (None, "", [])]
    if not present:
        return []
    fields = ", ".join(f"`{name}`" for name in present)
    reasons = "; ".join(dict.fromkeys(why[name] for name in present if name in why))
    return [Note("left-out", f"{fields}: not used{f' ({reasons})' if reasons else ''}.")]


def describe(text: str, task_id: str, notes: Sequence[Note]) -> str:
    refused = sum(1 for note in notes if note.kind == "refused")
    if refused:
        where = f"{refused} step(s) could not be translated: see {task_id}/IMPORT_NOTES.md."
    else:
        where = f"How it was imported: {task_id}/IMPORT_NOTES.md."
    return f"{text} {where}"


def spec(
    task_id: str,
    description: str,
    repo: str,
    ref: str,
    *,
    python: str | None,
    setup: list[str],
    build: list[str],
    workload: dict[str, Any],
    hidden: list[dict[str, Any]],
    tests: list[str],
    expert: dict[str, str] | None,
    reference: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The task mapping in the order tasks/README.md documents it."""
    out: dict[str, Any] = {"id": task_id, "description": description, "repo": repo, "ref": ref}
    if python:
        out["python"] = python
    out |= {"setup": setup}
    if setup:  # the importers send what needs an index or a download to setup
        out["setup_network"] = True
    out |= {"build": build, "workload": workload}
    out |= {"hidden_workloads": hidden, "tests": tests}
    if expert:
        out["expert"] = expert
    if reference:
        out["reference"] = reference
    return out
