"""SWE-Perf instances (``SWE-Perf/SWE-Perf``) → tasks.

- ``efficiency_test`` (pytest node ids; a list or a JSON list) → a ``pytest`` workload (the
  tests' call durations, summed) and a test command running them (SWE-Perf requires them to
  pass);
- ``patch`` → the expert patch ``<id>/expert.diff`` (``head_commit`` is not used: it also
  carries the PR's test changes);
- ``duration_changes`` → a note with SWE-Perf's own base and head timings;
- ``repo`` → ``https://github.com/<repo>``, ``base_commit`` → ``ref``.

SWE-Perf's environment (a conda env from SWE-bench's install spec for ``repo``/``version``)
is not in the dataset, so setup and build stay empty and the notes say so.
"""

from __future__ import annotations

import json
import shlex
import statistics
from typing import Any

from perfagent.tools.tasksets import common
from perfagent.tools.tasksets import reference as published
from perfagent.tools.tasksets.fields import (
    Row,
    commitish,
    optional_text,
    repo_url,
    required_text,
    string_list,
    task_id,
)
from perfagent.tools.tasksets.model import ImportedTask, Note, RowError

TITLE = "SWE-Perf"
ID_FIELDS = ("instance_id",)
_UNUSED = (
    "problem_statement_oracle",
    "problem_statement_realistic",
    "patch_functions",
    "test_functions",
    "created_at",
)
_PROMPT = "prompts of SWE-Perf's own settings"
_WHY = {
    "problem_statement_oracle": _PROMPT,
    "problem_statement_realistic": _PROMPT,
    "patch_functions": "the expert's functions, not given as targets",
}


def convert(row: Row) -> ImportedTask:
    tid, notes = task_id(required_text(row, "instance_id"))
    repo_name = required_text(row, "repo")
    repo = repo_url(repo_name)
    base = commitish(required_text(row, "base_commit"), "base_commit")
    tests = string_list(row, "efficiency_test", lines=True)
    if not tests:
        raise RowError("missing field 'efficiency_test'")
    files: dict[str, str] = {}
    command = "python -m pytest -q -p no:cacheprovider " + " ".join(shlex.quote(t) for t in tests)
    notes.append(
        Note(
            "translated",
            f"efficiency_test → a pytest workload timing {len(tests)} test(s) (call durations, "
            f"summed) and the test command `{command}` (SWE-Perf requires them to pass).",
        )
    )
    expert = None
    patch = optional_text(row, "patch")
    if patch:
        expert = common.expert_patch(tid, patch, "patch", files)
        notes.append(Note("translated", f"patch → the expert patch `{tid}/expert.diff`."))
    else:
        notes.append(
            Note(
                "caveat",
                "no patch: the task has no expert (head_commit is not used: it also changes "
                "the tests).",
            )
        )
    reference, duration_notes = _durations(row, tests)
    notes += duration_notes
    version = optional_text(row, "version")
    notes.append(
        Note(
            "refused",
            f"environment: SWE-Perf runs {repo_name}"
            f"{f' {version}' if version else ''} in a conda env built from SWE-bench's install "
            "spec for that version, which the dataset does not carry: setup and build are "
            "empty; add the dependency install (setup) and, for compiled code, an in-place "
            "build (build).",
        )
    )
    if optional_text(row, "test_patch"):
        notes.append(
            Note(
                "left-out",
                "`test_patch`: not applied (SWE-Perf times the efficiency tests as they are at "
                "base_commit).",
            )
        )
    notes += common.unused_fields(row, _UNUSED, _WHY)
    text = (
        f"SWE-Perf task {tid}: make {len(tests)} efficiency test(s) of "
        f"{common.repo_label(repo)} faster (pytest call durations)."
    )
    spec = common.spec(
        tid,
        common.describe(text, tid, notes),
        repo,
        base,
        python=None,
        setup=[],
        build=[],
        workload={"kind": "pytest", "tests": tests},
        hidden=[],
        tests=[command],
        expert=expert,
        reference=reference,
    )
    return ImportedTask(tid, spec, files, notes)


def _durations(row: Row, tests: list[str]) -> tuple[dict[str, Any] | None, list[Note]]:
    """SWE-Perf's runs: a list (or JSON list) of {test: {"base": s, "head": s}} → the task's
    published ``reference`` (base and head seconds) and a note."""
    raw: Any = row.get("duration_changes")
    if raw in (None, "", []):
        return None, []
    try:
        runs = json.loads(raw) if isinstance(raw, str) else raw
        base = statistics.median(sum(float(run[t]["base"]) for t in tests) for run in runs)
        head = statistics.median(sum(float(run[t]["head"]) for t in tests) for run in runs)
    except (ValueError, TypeError, KeyError, statistics.StatisticsError):
        note = Note("left-out", "`duration_changes`: not in the expected shape; not used.")
        return None, [note]
    ratio = f" ({base / head:.2f}×)" if head > 0 else ""
    human = row.get("human_performance")
    how = f"median of {len(runs)} SWE-Perf runs of the efficiency tests (summed call durations)"
    if human not in (None, ""):
        how += f"; SWE-Perf's human_performance {human}"
    reference = published.from_timings(TITLE, base, head, how) if base > 0 and head > 0 else None
    return reference, [
        Note(
            "translated",
            f"duration_changes: SWE-Perf measured {base:.3f} s on base and {head:.3f} s with the "
            f"PR over the efficiency tests{ratio}, median of {len(runs)} runs; perfagent "
            "measures again on this machine (the task's `reference`).",
        )
    ]
