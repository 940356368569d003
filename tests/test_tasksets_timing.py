"""Importers carry a collection's own timing (timeit's number / setup / gc / repeat) and its
published reference figures into the task."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from perfagent.tools import runner
from perfagent.tools.tasksets.importer import import_tasks
from perfagent.tools.tasksets.scripts import parse, strip_timeit_harness
from perfagent.tools.taskspec import TimingSpec, load_task

SCRIPT = """\
import timeit
import statistics
import calc

CACHE = {{}}

def setup():
    CACHE.clear()

def workload():
    return calc.total(CACHE.setdefault("n", 3000))

{call}
print(statistics.mean(runtimes))
"""


def _import(tmp_path: Path, call: str, **row: Any) -> tuple[TimingSpec, Any, str]:
    row = {
        "instance_id": "acme__calc-1",
        "repo": "acme/calc",
        "base_commit": "a" * 40,
        "workload": SCRIPT.format(call=call),
        **row,
    }
    (tmp_path / "rows.jsonl").write_text(json.dumps(row) + "\n")
    result = import_tasks("timeit-script", tmp_path / "rows.jsonl", tmp_path / "out")
    assert [t.id for t in result.imported] == ["acme__calc-1"], result.skipped
    task = load_task(tmp_path / "out" / "acme__calc-1.yaml")
    notes = (tmp_path / "out" / "acme__calc-1" / "IMPORT_NOTES.md").read_text()
    return task.spec.workload.timing, task.spec.reference, notes


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (
            "runtimes = timeit.repeat(workload, number=5, repeat=25, setup=setup)",
            TimingSpec(number=5, setup="each", gc=False, repeat_hint=25),
        ),
        (
            "runtimes = timeit.repeat(workload, number=1000, repeat=7)",
            TimingSpec(number=1000, setup="never", gc=False, repeat_hint=7),
        ),
        (
            "runtimes = [timeit.timeit(workload, setup, number=3)]",
            TimingSpec(number=3, setup="each", gc=False, repeat_hint=1),
        ),
        (
            "runtimes = timeit.Timer(workload, 'setup(); import gc; gc.enable()').repeat(4, 2)",
            TimingSpec(
                number=2,
                setup="never",
                setup_statement="setup(); import gc; gc.enable()",
                gc=True,
                repeat_hint=4,
            ),
        ),
        (
            "runtimes = timeit.repeat(workload, setup=setup)",
            TimingSpec(number=1, setup="each", gc=False, repeat_hint=5),
        ),
    ],
)
def test_the_scripts_timeit_call_becomes_the_workloads_timing(
    tmp_path: Path, call: str, expected: TimingSpec
) -> None:
    timing, _, notes = _import(tmp_path, call)
    assert timing == expected
    if "number=" not in call and "repeat(4, 2)" not in call:
        assert "no literal number=" in notes


def test_a_script_without_setup_says_setup_is_never_called(tmp_path: Path) -> None:
    _, _, notes = _import(tmp_path, "runtimes = timeit.repeat(workload, number=5, repeat=3)")
    assert "setup() never called (the timeit call passes no setup=)" in notes


def test_setup_given_as_another_function_runs_as_a_statement() -> None:
    source = "import timeit\ndef prepare():\n    pass\ndef workload():\n    return 1\n"
    source += "t = timeit.repeat(stmt=workload, setup=prepare, number=4, repeat=2)\n"
    _, harness = strip_timeit_harness(source, parse(source, "s"))
    assert (harness.setup_function, harness.number, harness.repeat) == ("prepare", 4, 2)


def test_swefficiency_speedup_and_notes_become_the_reference(tmp_path: Path) -> None:
    call = "runtimes = timeit.repeat(workload, number=1, repeat=3, setup=setup)"
    _, reference, notes = _import(
        tmp_path,
        call,
        speedup=9.5,
        notes="Before Mean: 0.0123 s\nBefore SD: 0.001\nAfter Mean: 1.3 ms\nAfter SD: 0.1 ms",
    )
    assert reference is not None
    assert (reference.source, reference.expert_speedup) == ("SWE-fficiency", 9.5)
    assert (reference.base_s, reference.expert_s) == (0.0123, pytest.approx(0.0013))
    assert reference.speedup == 9.5
    assert "published figures → `reference`" in notes


def test_before_and_after_means_alone_give_the_speedup(tmp_path: Path) -> None:
    call = "runtimes = timeit.repeat(workload, number=1, repeat=3, setup=setup)"
    _, reference, _ = _import(tmp_path, call, notes="Before Mean: 2.0\nAfter Mean: 0.5")
    assert reference is not None and reference.speedup == 4.0


def test_no_figures_no_reference(tmp_path: Path) -> None:
    call = "runtimes = timeit.repeat(workload, number=1, repeat=3, setup=setup)"
    _, reference, _ = _import(tmp_path, call, notes="a PR that makes total() faster")
    assert reference is None


# -- the expert of a row that names only its PR ----------------------------------------------
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "tasksets"


def _git(path: Path, *args: str) -> str:
    result = runner.run(["git", *args], cwd=path)
    assert result.ok, result.summary()
    return result.stdout.strip()


def _pr_repo(path: Path, *, squash: bool) -> str:
    """base: slow calc.py; a PR changes calc.py, its test and the changelog; merged (or
    squashed) into main after one unrelated commit. Returns the base commit."""
    path.mkdir()
    _git(path, "init", "-q", "-b", "main")
    _git(path, "config", "user.name", "t")
    _git(path, "config", "user.email", "t@example.org")
    (path / "tests").mkdir()
    (path / "calc.py").write_text((FIXTURES / "calc_slow.py").read_text())
    (path / "tests" / "test_calc.py").write_text("def test_x():\n    pass\n")
    (path / "CHANGES.md").write_text("# changes\n")
    _git(path, "add", "-A")
    _git(path, "commit", "-q", "-m", "base")
    base = _git(path, "rev-parse", "HEAD")
    _git(path, "checkout", "-q", "-b", "fast")
    (path / "calc.py").write_text((FIXTURES / "calc_fast.py").read_text())
    (path / "tests" / "test_calc.py").write_text("def test_x():\n    assert True\n")
    (path / "CHANGES.md").write_text("# changes\n- faster total()\n")
    _git(path, "commit", "-q", "-am", "Speed up total")
    _git(path, "checkout", "-q", "main")
    if squash:
        _git(path, "merge", "-q", "--squash", "fast")
        _git(path, "commit", "-q", "-m", "Speed up total (#42)")
    else:
        _git(path, "merge", "-q", "--no-ff", "-m", "Merge pull request #42 from t/fast", "fast")
    (path / "README").write_text("later\n")
    _git(path, "add", "README")
    _git(path, "commit", "-q", "-m", "Unrelated (#420)")
    return base


@pytest.mark.parametrize("squash", [False, True])
def test_a_pr_link_gets_its_merge_commits_source_diff(tmp_path: Path, squash: bool) -> None:
    base = _pr_repo(tmp_path / "calc", squash=squash)
    call = "runtimes = timeit.repeat(workload, number=1, repeat=3, setup=setup)"
    _import(
        tmp_path,
        call,
        repo=f"file://{tmp_path / 'calc'}",
        base_commit=base,
        pr_url="https://github.com/acme/calc/pull/42",
    )
    task = load_task(tmp_path / "out" / "acme__calc-1.yaml")
    assert task.spec.expert is not None and task.spec.expert.patch == "acme__calc-1/expert.diff"
    diff = (tmp_path / "out" / "acme__calc-1" / "expert.diff").read_text()
    assert "+++ b/calc.py" in diff and "tests/test_calc.py" not in diff and "CHANGES" not in diff
    notes = (tmp_path / "out" / "acme__calc-1" / "IMPORT_NOTES.md").read_text()
    chosen = "Speed up total (#42)" if squash else "Merge pull request #42 from t/fast"
    assert f"`{chosen}`" in notes
    assert "left out: CHANGES.md, tests/test_calc.py" in notes


def test_a_pr_without_a_commit_says_why(tmp_path: Path) -> None:
    base = _pr_repo(tmp_path / "calc", squash=True)
    call = "runtimes = timeit.repeat(workload, number=1, repeat=3, setup=setup)"
    _import(tmp_path, call, repo=str(tmp_path / "calc"), base_commit=base, pr="#7")
    assert load_task(tmp_path / "out" / "acme__calc-1.yaml").spec.expert is None
    notes = (tmp_path / "out" / "acme__calc-1" / "IMPORT_NOTES.md").read_text()
    assert "PR #7: no expert: no merge commit `Merge pull request #7`" in notes
