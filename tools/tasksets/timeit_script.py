"""Rows of (repo, base commit, PR/commit, a timeit script with ``setup()`` and
``workload()``), as SWE-fficiency-style collections hold them (CSV or JSON lines) → tasks.

Columns (the first one present wins):

- id: ``instance_id``, ``id`` (else ``<owner>__<name>-<base[:7]>``);
- ``repo`` (``owner/name`` or a git URL), ``base_commit`` or ``base``;
- the script: ``workload``, ``script``, ``timeit_script``, ``workload_script`` → the visible
  ``python`` workload ``<id>/workload.py``, its module-level timing (``runtimes =
  timeit.repeat(workload, …)`` and what uses it) removed;
- the expert: ``patch``/``diff`` (a unified diff → ``<id>/expert.diff``), else a commit
  ``opt_commit``, ``head_commit``, ``merge_commit``, ``commit``, ``pr_commit`` (a sha or a
  ``…/commit/<sha>`` URL); a bare ``pr``/``pr_url``/``pr_number`` gives no expert;
- tests: ``covering_tests`` or ``tests`` (a list, a JSON list or one per line), run with
  ``test_cmd`` (``pytest …`` becomes ``python -m pytest …``) or ``python -m pytest -q``;
- ``setup_commands`` → setup; ``rebuild_cmd``/``build_cmd`` → build (``commands.translate``).
"""

from __future__ import annotations

import re
import shlex

from perfagent.tools.tasksets import common, scripts
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

TITLE = "timeit-script"
ID_FIELDS = ("instance_id", "id")
SCRIPT_FIELDS = ("workload", "script", "timeit_script", "workload_script")
COMMIT_FIELDS = ("opt_commit", "head_commit", "merge_commit", "commit", "pr_commit")
_COMMIT_URL = re.compile(r"/commit/([0-9a-fA-F]{7,40})/?$")
_PULL = re.compile(r"(/pull/\d+/?$)|(^#?\d{1,6}$)")
_DEFAULT_PYTEST = "python -m pytest -q -p no:cacheprovider"


def convert(row: Row) -> ImportedTask:
    repo_name = required_text(row, "repo")
    repo = repo_url(repo_name)
    base = commitish(required_text(row, "base_commit", "base"), "base_commit")
    raw_id = optional_text(row, *ID_FIELDS)
    notes: list[Note] = []
    if raw_id is None:
        owner_name = repo_name.rstrip("/").removesuffix(".git").replace(":", "/").split("/")
        raw_id = f"{'__'.join(owner_name[-2:])}-{base[:7]}"
        notes.append(
            Note("caveat", f"no instance_id: the id {raw_id!r} is made from repo and base commit.")
        )
    tid, id_notes = task_id(raw_id)
    notes += id_notes
    script = required_text(row, *SCRIPT_FIELDS)
    files: dict[str, str] = {}
    notes += _workload(tid, script, files)
    expert = _expert(row, tid, files, notes)
    tests = _tests(row, notes)
    setup_cmds = string_list(row, "setup_commands", lines=True)
    setup = translate(setup_cmds, field="setup_commands", mode="setup")
    rebuild = optional_text(row, "rebuild_cmd", "build_cmd")
    build = translate([rebuild] if rebuild else [], field="rebuild_cmd", mode="build")
    notes += setup.notes + build.notes + common.build_note(build.build)
    text = f"{common.repo_label(repo)} at {base}: make the timeit script's workload() faster."
    spec = common.spec(
        tid,
        common.describe(text, tid, notes),
        repo,
        base,
        python=setup.python or build.python,
        setup=setup.setup,
        build=setup.build + build.build,
        workload={"kind": "python", "file": f"{tid}/workload.py"},
        hidden=[],
        tests=tests,
        expert=expert,
    )
    return ImportedTask(tid, spec, files, notes)


def _workload(tid: str, script: str, files: dict[str, str]) -> list[Note]:
    tree = scripts.parse(script, "the workload script")
    body, harness = scripts.strip_timeit_harness(script, tree)
    defined = scripts.functions(scripts.parse(body, "the workload script"))
    for name in ("setup", "workload"):
        function = defined.get(name)
        if function is None and name == "workload":
            raise RowError("the workload script defines no workload() function")
        if function is not None and scripts.required_args(function):
            raise RowError(f"the workload script's {name}() takes arguments")
    notes: list[Note] = []
    target = f"`{tid}/workload.py` (kind python)"
    if harness.lines:
        where = scripts.describe_lines(harness.lines)
        body = (
            f"# perfagent: the module-level timeit harness ({where}) was removed; perfagent\n"
            "# calls setup() and times workload() itself.\n" + body
        )
        notes.append(
            Note(
                "translated",
                f"the script → the visible workload {target}: its module-level timeit harness "
                f"({where}) was removed; perfagent calls setup() before every timed call.",
            )
        )
        if harness.number not in (None, 1):
            notes.append(
                Note(
                    "caveat",
                    f"the script timed {harness.number} workload() calls per sample; perfagent "
                    "times one call after each setup().",
                )
            )
        if "setup" in defined and not harness.passes_setup:
            notes.append(
                Note(
                    "caveat",
                    "the script's timeit call did not pass setup=; perfagent calls setup() "
                    "before every timed call.",
                )
            )
    else:
        notes.append(Note("translated", f"the script → the visible workload {target}, as given."))
    if not scripts.returns_value(defined["workload"]):
        notes.append(
            Note(
                "caveat",
                "workload() returns nothing, so the output perfagent compares is always None.",
            )
        )
    files["workload.py"] = body
    return notes + common.network_note("workload.py", body)


def _expert(row: Row, tid: str, files: dict[str, str], notes: list[Note]) -> dict[str, str] | None:
    diff = optional_text(row, "patch", "diff")
    if diff:
        notes.append(Note("translated", f"the patch → the expert patch `{tid}/expert.diff`."))
        return common.expert_patch(tid, diff, "patch", files)
    given = optional_text(row, *COMMIT_FIELDS) or optional_text(row, "pr", "pr_url", "pr_number")
    commit_url = _COMMIT_URL.search(given or "")
    if given and (commit_url or not _PULL.search(given)):
        sha = commitish(commit_url.group(1) if commit_url else given, "commit")
        notes.append(Note("translated", f"the commit → the expert commit {sha}."))
        return {"commit": sha}
    if given:
        notes.append(
            Note(
                "caveat",
                f"PR {given} comes without its commit or patch: the task has no expert (add "
                "`expert: {commit: <sha>}` once known).",
            )
        )
    else:
        notes.append(Note("caveat", "no patch, commit or PR: the task has no expert."))
    return None


def _tests(row: Row, notes: list[Note]) -> list[str]:
    covering = string_list(row, "covering_tests", lines=True) or string_list(
        row, "tests", lines=True
    )
    if not covering:
        notes.append(
            Note(
                "caveat",
                "no covering tests: the task has no test commands.",
            )
        )
        return []
    runner = optional_text(row, "test_cmd") or _DEFAULT_PYTEST
    if runner.split()[0] == "pytest":
        runner = f"python -m {runner}"
    if runner.startswith("python -m pytest") and "no:cacheprovider" not in runner:
        runner += " -p no:cacheprovider"  # keeps the variant trees clean
    command = f"{runner} {' '.join(shlex.quote(test) for test in covering)}"
    notes.append(Note("translated", f"the covering tests → the test command `{command}`."))
    return [command]
