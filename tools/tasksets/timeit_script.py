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
from typing import Any

from perfagent.tools.tasksets import common, pull_request, scripts
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
    workload, workload_notes = _workload(tid, script, files)
    notes += workload_notes
    expert = _expert(row, tid, files, notes, repo, base)
    tests = _tests(row, notes)
    setup_cmds = string_list(row, "setup_commands", lines=True)
    setup = translate(setup_cmds, field="setup_commands", mode="setup")
    rebuild = optional_text(row, "rebuild_cmd", "build_cmd")
    build = translate([rebuild] if rebuild else [], field="rebuild_cmd", mode="build")
    notes += setup.notes + build.notes + common.build_note(build.build)
    reference, reference_notes = published.from_row(row, "SWE-fficiency")
    notes += reference_notes
    text = f"{common.repo_label(repo)} at {base}: make the timeit script's workload() faster."
    spec = common.spec(
        tid,
        common.describe(text, tid, notes),
        repo,
        base,
        python=setup.python or build.python,
        setup=setup.setup,
        build=setup.build + build.build,
        workload=workload,
        hidden=[],
        tests=tests,
        expert=expert,
        reference=reference,
    )
    return ImportedTask(tid, spec, files, notes)


def _workload(tid: str, script: str, files: dict[str, str]) -> tuple[dict[str, Any], list[Note]]:
    """The visible workload (its ``timing`` carrying the script's own) and notes."""
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
    workload: dict[str, Any] = {"kind": "python", "file": f"{tid}/workload.py"}
    if harness.lines:
        where = scripts.describe_lines(harness.lines)
        body = (
            f"# perfagent: the module-level timeit harness ({where}) was removed; perfagent\n"
            "# times workload() itself as the task's workload.timing says.\n" + body
        )
        timing, timing_notes = _timing(harness, defined)
        workload["timing"] = timing
        notes.append(
            Note(
                "translated",
                f"the script → the visible workload {target}: its module-level timeit harness "
                f"({where}) was removed; " + "; ".join(timing_notes) + ".",
            )
        )
        notes += _timing_caveats(harness, defined)
    else:
        notes.append(
            Note(
                "translated",
                f"the script → the visible workload {target}, as given (no timeit call: "
                "perfagent's own timing, setup() before every timed call).",
            )
        )
    if not scripts.returns_value(defined["workload"]):
        notes.append(
            Note(
                "caveat",
                "workload() returns nothing, so the output perfagent compares is always None.",
            )
        )
    files["workload.py"] = body
    return workload, notes + common.network_note("workload.py", body)


def _timing(harness: scripts.Harness, defined: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The script's timeit semantics as a ``timing`` mapping, and what was carried over."""
    timing: dict[str, Any] = {"number": harness.number or 1}
    said = [f"number {timing['number']} (workload() calls per setup)"]
    if harness.setup_function == "setup" or harness.unreadable_setup:
        timing["setup"] = "each"
        said.append("setup() before every `number` calls, as timeit's setup=setup")
    elif harness.setup_function is not None:
        timing |= {"setup": "never", "setup_statement": f"{harness.setup_function}()"}
        said.append(f"{harness.setup_function}() before every `number` calls (timeit's setup=)")
    elif harness.setup_statement is not None:
        timing |= {"setup": "never", "setup_statement": harness.setup_statement}
        said.append(f"the setup statement {harness.setup_statement!r} before every `number` calls")
    else:
        timing["setup"] = "never"
        if "setup" in defined:
            said.append("setup() never called (the timeit call passes no setup=)")
    # timeit turns the collector off while it times, unless its setup turns it back on
    timing["gc"] = "gc.enable()" in (harness.setup_statement or "")
    said.append(f"garbage collector {'on' if timing['gc'] else 'off'} during timed calls")
    if harness.repeat is not None:
        timing["repeat_hint"] = harness.repeat
        said.append(f"the script's repeat={harness.repeat} kept as a hint")
    return timing, said


def _timing_caveats(harness: scripts.Harness, defined: dict[str, Any]) -> list[Note]:
    notes = []
    if harness.number is None:
        notes.append(
            Note(
                "caveat",
                "the timeit call gives no literal number= (timeit's default is 1,000,000): "
                "perfagent takes number 1 and calibrates how many calls one value holds.",
            )
        )
    if harness.unreadable_setup:
        notes.append(
            Note(
                "caveat",
                "the timeit call's setup= is not a name or a string: setup() runs instead.",
            )
        )
    if harness.setup_function not in (None, "setup") and harness.setup_function not in defined:
        notes.append(
            Note("caveat", f"setup={harness.setup_function} is not a function the script defines.")
        )
    notes.append(
        Note(
            "translated",
            "each fresh process takes warm-up values (discarded) and then values of as many "
            "`number`-call units as last ≥ 100 ms (calibrated once on base), as pyperf does; "
            "perfagent compares per-call times across processes.",
        )
    )
    return notes


def _expert(
    row: Row, tid: str, files: dict[str, str], notes: list[Note], repo: str, base: str
) -> dict[str, str] | None:
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
        return _pull_request_expert(given, tid, files, notes, repo, base)
    notes.append(Note("caveat", "no patch, commit or PR: the task has no expert."))
    return None


def _pull_request_expert(
    given: str, tid: str, files: dict[str, str], notes: list[Note], repo: str, base: str
) -> dict[str, str] | None:
    """A PR link alone: its merge (or squash) commit's source diff, read from a local clone."""
    number = pull_request.pr_number(given)
    clone = pull_request.local_repo(repo)
    if number is None or clone is None:
        where = "" if clone else " (the repository is not a local clone; importers fetch nothing)"
        notes.append(
            Note(
                "caveat",
                f"PR {given} comes without its commit or patch{where}: the task has no expert "
                "(add `expert: {commit: <sha>}` once known).",
            )
        )
        return None
    found = pull_request.find_expert(clone, base, number)
    if not found.diff:
        reason = (
            found.reason
            if found.commit is None
            else f"{found.reason}, but it changes no source file"
        )
        notes.append(Note("caveat", f"PR #{number}: no expert: {reason}."))
        return None
    dropped = f"; left out: {', '.join(found.dropped)}" if found.dropped else ""
    notes.append(
        Note(
            "translated",
            f"PR #{number} → the expert patch `{tid}/expert.diff`: commit {found.commit} "
            f"({found.reason}), diffed against its first parent over non-test source files "
            f"({', '.join(found.kept)}){dropped}.",
        )
    )
    return common.expert_patch(tid, found.diff, "PR", files)


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
