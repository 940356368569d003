"""GSO instances (``gso-bench/gso``) → tasks.

- ``prob_script`` → the visible workload ``<id>/workload.py``, kind ``gso`` (``setup()``
  returns data, ``experiment(data)`` is timed, ``store_result``/``load_result``/
  ``check_equivalence`` compare with base), ``repeat: 1``: one experiment per fresh process, as
  GSO's ``timeit(number=1)``;
- ``tests`` (a list, or a JSON list) → hidden workloads ``<id>/gso_test_<i>.py``, as given;
  the test that is prob_script with GSO's harness is not repeated;
- ``opt_commit`` → the expert commit (``gt_diff`` → ``<id>/expert.diff`` when it is missing);
- ``setup_commands`` → setup; ``install_commands`` → setup (what needs the network) and build
  (the rest: GSO reruns them after every patch), translated by ``commands.translate``;
- ``repo`` → ``https://github.com/<repo>``, ``base_commit`` → ``ref``.
"""

from __future__ import annotations

import ast
from typing import Any

from perfagent.tools.tasksets import common, scripts
from perfagent.tools.tasksets import reference as published
from perfagent.tools.tasksets.commands import translate
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

TITLE = "GSO"
ID_FIELDS = ("instance_id",)
CONTRACT = ("experiment", "store_result", "load_result", "check_equivalence")
_UNUSED = ("created_at", "hints_text", "gt_commit_message", "arch", "instance_image_tag")
_EXPERT_MESSAGE = "hints_text and gt_commit_message are the expert commit's message"
_WHY = {"hints_text": _EXPERT_MESSAGE, "gt_commit_message": _EXPERT_MESSAGE}

# GSO times with timeit (the collector off), setup() before the one experiment() it times.
_TIMING = {"gc": False}


def convert(row: Row) -> ImportedTask:
    tid, notes = task_id(required_text(row, "instance_id"))
    repo = repo_url(required_text(row, "repo"))
    base = commitish(required_text(row, "base_commit"), "base_commit")
    prob = required_text(row, "prob_script")
    prob_tree = scripts.parse(prob, "prob_script")
    scripts.require_functions(prob_tree, "prob_script", CONTRACT)
    tests = string_list(row, "tests", lines=False)
    setup_cmds = string_list(row, "setup_commands", lines=True)
    install_cmds = string_list(row, "install_commands", lines=True)

    files = {"workload.py": prob}
    notes.append(
        Note(
            "translated",
            f"prob_script → the visible workload `{tid}/workload.py` (kind gso, repeat 1: one "
            "timed value per fresh process, setup() before each experiment() as GSO's "
            "timeit with number=1, the collector off as in timeit; a value holds as many "
            "experiments as last ≥ 100 ms, after a discarded warm-up, when one is shorter).",
        )
    )
    notes += common.network_note("workload.py", prob)
    hidden = _hidden(tid, tests, prob_tree, files, notes)
    expert = _expert(row, tid, files, notes)

    setup = translate(setup_cmds, field="setup_commands", mode="setup")
    install = translate(install_cmds, field="install_commands", mode="install")
    if install_cmds:
        notes.append(
            Note(
                "translated",
                "install_commands (GSO reruns them after every patch): those that need the "
                "network (installs from an index, downloads) run once in setup "
                f"({len(install.setup)}), the others in build, in every variant tree without "
                f"network ({len(install.build)}).",
            )
        )
    notes += setup.notes + install.notes
    notes += common.build_note(install.build)
    notes.append(
        Note("translated", "correctness: check_equivalence in every workload; no test commands.")
    )
    notes += common.unused_fields(row, _UNUSED, _WHY)
    reference, reference_notes = published.from_row(row, TITLE)
    notes += reference_notes
    api = optional_text(row, "api")
    target = f"`{api}`" if api else "the API under test"
    text = f"GSO task {tid}: make {target} faster in {common.repo_label(repo)}."
    text += " The visible workload is GSO's prob_script"
    text += f"; {len(hidden)} more of its tests are hidden workloads." if hidden else "."
    spec = common.spec(
        tid,
        common.describe(text, tid, notes),
        repo,
        base,
        python=install.python or setup.python,
        setup=setup.setup + install.setup,
        build=setup.build + install.build,
        workload={
            "kind": "gso",
            "file": f"{tid}/workload.py",
            "repeat": 1,
            "timing": dict(_TIMING),
        },
        hidden=hidden,
        tests=[],
        expert=expert,
        reference=reference,
    )
    return ImportedTask(tid, spec, files, notes)


def _hidden(
    tid: str, tests: list[str], prob_tree: ast.Module, files: dict[str, str], notes: list[Note]
) -> list[dict[str, Any]]:
    visible = scripts.gso_body(prob_tree)
    hidden: list[dict[str, Any]] = []
    written: list[str] = []
    matched: int | None = None
    for index, test in enumerate(tests):
        what = f"tests[{index}]"
        try:
            tree = scripts.parse(test, what)
            scripts.require_functions(tree, what, CONTRACT)
        except RowError as exc:
            notes.append(Note("refused", f"{exc}: not used as a hidden workload."))
            continue
        if matched is None and scripts.gso_body(tree) == visible:
            matched = index
            continue
        name = f"gso_test_{index}.py"
        files[name] = test
        written.append(f"{what} → `{tid}/{name}`")
        hidden.append(
            {"kind": "gso", "file": f"{tid}/{name}", "repeat": 1, "timing": dict(_TIMING)}
        )
        notes += common.network_note(name, test)
    same = f"tests[{matched}] is prob_script itself" if matched is not None else ""
    if written:
        listed = ", ".join(written) + (f"; {same}" if same else "")
        notes.append(Note("translated", f"hidden workloads, the scripts as given: {listed}."))
    elif same:
        notes.append(Note("translated", f"{same}: no hidden workloads."))
    elif not tests:
        notes.append(Note("caveat", "no tests: the task has no hidden workloads."))
    return hidden


def _expert(row: Row, tid: str, files: dict[str, str], notes: list[Note]) -> dict[str, str] | None:
    opt = optional_text(row, "opt_commit")
    if opt:
        commit = commitish(opt, "opt_commit")
        notes.append(Note("translated", f"opt_commit → the expert commit {commit}."))
        return {"commit": commit}
    diff = optional_text(row, "gt_diff")
    if diff:
        expert = common.expert_patch(tid, diff, "gt_diff", files)
        notes.append(
            Note("translated", f"gt_diff → the expert patch `{tid}/expert.diff` (no opt_commit).")
        )
        return expert
    notes.append(Note("caveat", "no opt_commit or gt_diff: the task has no expert."))
    return None
