"""The loop's parts on their own: targets, the decide node, applying to a user's checkout."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from langgraph.runtime import Runtime

from perfagent.agent.cli.optimize import parse_target
from perfagent.agent.context import Budgets, RunContext
from perfagent.agent.graph import build_graph, passed
from perfagent.agent.nodes import decide
from perfagent.agent.nodes.evaluation import base_key, known_tests
from perfagent.agent.prompts.judge import parse_judgement
from perfagent.agent.proposers.rules import RuleProposer
from perfagent.agent.state import AgentState, merge_by_id
from perfagent.agent.target import TargetOptions, resolve_target
from perfagent.tools.errors import TaskSpecError, WorkspaceError
from perfagent.tools.lab.report import TestResult
from perfagent.tools.taskspec import load_task
from perfagent.tools.workspace import apply_to_checkout
from tests.conftest import FAST_MODULE, SLOW_MODULE, TaskFactory, unified_diff


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def make_repo(root: Path, pyproject: str | None = None) -> Path:
    root.mkdir(parents=True)
    (root / "calc.py").write_text(SLOW_MODULE)
    (root / "bench.py").write_text("import calc\n\ndef workload():\n    return calc.total(300)\n")
    if pyproject is not None:
        (root / "pyproject.toml").write_text(pyproject)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    return root


CONFIG = """
[project]
name = "calc"

[tool.perfagent]
workload = "bench.py"
tests = ["python -c 'import calc'"]
targets = ["total"]
"""


def test_a_repo_target_becomes_a_task_from_its_pyproject(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "calc", CONFIG)
    task = load_task(resolve_target(str(repo), TargetOptions(), tmp_path / "run"))
    assert (task.id, task.spec.repo, task.spec.ref) == ("calc", str(repo), "HEAD")
    assert task.spec.workload.file == "bench.py" and task.spec.targets == ["total"]
    assert task.spec.tests == ["python -c 'import calc'"]
    # Flags win over the repo's settings.
    task = load_task(resolve_target(str(repo), TargetOptions(tests=["true"]), tmp_path / "run2"))
    assert task.spec.tests == ["true"]


def test_a_git_url_target_reads_the_config_from_a_clone(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "calc", CONFIG)
    url = f"file://{repo}"
    task = load_task(resolve_target(url, TargetOptions(), tmp_path / "run"))
    assert task.repo_is_url and task.spec.workload.file == "bench.py"


@pytest.mark.parametrize(
    ("pyproject", "git_repo", "message"),
    [
        (None, True, "no workload: pass --workload FILE"),
        ("[tool.perfagent]\nworkloads = 'x.py'\n", True, "unknown key 'workloads'"),
        ("[tool.perfagent\n", True, "not valid TOML"),
        (CONFIG, False, "not a git repository"),
    ],
)
def test_bad_repo_targets_get_one_line(
    tmp_path: Path, pyproject: str | None, git_repo: bool, message: str
) -> None:
    if git_repo:
        repo = make_repo(tmp_path / "calc", pyproject)
    else:
        repo = tmp_path / "plain"
        repo.mkdir()
        (repo / "pyproject.toml").write_text(pyproject or "")
    with pytest.raises((TaskSpecError, WorkspaceError)) as info:
        resolve_target(str(repo), TargetOptions(), tmp_path / "run")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_parse_target() -> None:
    assert parse_target("1.5x") == 1.5 and parse_target("2×") == 2.0 and parse_target(None) is None
    with pytest.raises(TaskSpecError):
        parse_target("fast")
    with pytest.raises(TaskSpecError):
        parse_target("0.9x")


def test_apply_only_to_a_clean_checkout(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "calc")
    patch = unified_diff("calc.py", SLOW_MODULE, FAST_MODULE)
    (repo / "notes.txt").write_text("mine")  # an untracked file of the user's
    with pytest.raises(WorkspaceError, match="uncommitted changes"):
        apply_to_checkout(repo, patch)
    assert (repo / "calc.py").read_text() == SLOW_MODULE
    (repo / "notes.txt").unlink()
    assert "applied" in apply_to_checkout(repo, patch)
    assert (repo / "calc.py").read_text() == FAST_MODULE


def test_merge_by_id_updates_fields() -> None:
    merged = merge_by_id({"a": {"x": 1, "y": 2}}, {"a": {"y": 3}, "b": {"x": 0}})
    assert merged == {"a": {"x": 1, "y": 3}, "b": {"x": 0}}


def test_graph_has_the_loop_shape() -> None:
    graph = build_graph().compile()
    assert set(graph.nodes) >= {
        "prepare", "baseline", "profile", "propose", "check", "screen", "verdict", "decide",
        "finalize", "profile_final", "write_outputs",
    }  # fmt: skip


def _decide(state: dict[str, Any], task_file: Path, tmp: Path, **budgets: Any) -> dict[str, Any]:
    ctx = RunContext(
        task_file=task_file,
        run_dir=tmp / "run",
        run_id="t",
        proposer=RuleProposer(),
        proposer_spec="rules",
        budgets=Budgets(**budgets),
    )
    return decide({"task_file": str(task_file), **state}, runtime=Runtime(context=ctx))  # type: ignore[typeddict-item]


def test_decide_keeps_the_fastest_and_builds_the_new_baseline(
    make_task: TaskFactory, tmp_path: Path
) -> None:
    task_file = make_task()
    diff = unified_diff("calc.py", SLOW_MODULE, FAST_MODULE)
    state = {
        "round": 1,
        "candidates": {
            "r1-a": {"id": "r1-a", "round": 1, "outcome": "faster", "speedup": 1.5, "diff": diff},
            "r1-b": {"id": "r1-b", "round": 1, "outcome": "faster", "speedup": 2.0, "diff": diff},
            "r1-c": {"id": "r1-c", "round": 1, "outcome": "rejected", "diff": "x"},
        },
    }
    update = _decide(state, task_file, tmp_path)
    assert update["candidates"]["r1-b"]["outcome"] == "accepted"
    assert update["candidates"]["r1-a"]["outcome"] == "superseded"
    assert "r1-c" not in update["candidates"]
    assert update["accepted"] == ["r1-b"] and update["estimated_speedup"] == 2.0
    assert "+    return sum(i * i for i in range(n))" in update["baseline_patch"]
    assert update["stop_reason"] is None and update["round"] == 2
    # The same round with a target of 1.8x: reached.
    assert _decide(state, task_file, tmp_path, target=1.8)["stop_reason"] == "target reached"


def test_decide_counts_rounds_without_gain(make_task: TaskFactory, tmp_path: Path) -> None:
    task_file = make_task()
    state = {
        "round": 2,
        "rounds_without_gain": 1,
        "candidates": {"r2-a": {"id": "r2-a", "round": 2, "outcome": "rejected", "diff": "x"}},
    }
    update = _decide(state, task_file, tmp_path)
    assert update["stop_reason"] == "no gain in 2 rounds" and "round" not in update
    assert _decide({**state, "candidates": {}}, task_file, tmp_path)["stop_reason"] == (
        "no candidates"
    )


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("VERDICT: clean", ("clean", [])),
        ("**Verdict**: Suspicious\n- a.py::f: caches by n\n- b.py::g: skips checks",
         ("suspicious", ["a.py::f: caches by n", "b.py::g: skips checks"])),
        ("Looks fine to me.", (None, [])),
    ],
)  # fmt: skip
def test_parse_judgement(answer: str, expected: tuple[str | None, list[str]]) -> None:
    assert parse_judgement(answer) == expected


def _session(kind: str, cid: str, key: str, base: str, candidate: str) -> dict[str, Any]:
    tests = {
        "base": [{"command": "pytest", "passed": True, "summary": base}],
        "candidate": [{"command": "pytest", "passed": True, "summary": candidate}],
    }
    return {"kind": kind, "candidate": cid, "base_key": key, "report": {"tests": tests}}


def summaries(known: dict[str, list[TestResult]]) -> dict[str, list[str]]:
    return {variant: [t.summary for t in results] for variant, results in known.items()}


def test_sessions_reuse_only_test_results_of_the_same_trees() -> None:
    baseline = {"tests": [{"command": "pytest", "passed": True, "summary": "baseline"}]}
    state: dict[str, Any] = {"baseline": baseline, "baseline_patch": "", "measurements": []}
    # Nothing kept yet: base is the original tree, whose tests the baseline check ran.
    assert summaries(known_tests(state, "c1", "screen")) == {"base": ["baseline"]}
    original = base_key(state)
    state["measurements"] = [_session("screen", "c1", original, "b@screen", "c1@screen")]
    # The verdict of c1 builds the same two trees as its screen; c2's screen only base.
    assert summaries(known_tests(state, "c1", "verdict")) == {
        "base": ["b@screen"],
        "candidate": ["c1@screen"],
    }
    assert summaries(known_tests(state, "c2", "screen")) == {"base": ["b@screen"]}
    assert "candidate" not in known_tests(state, "c2", "verdict")  # c2 was never screened
    # An edit was kept: base is a new tree that no session has tested yet.
    state["baseline_patch"] = "diff --git a/m.py b/m.py\n"
    assert base_key(state) != original
    assert known_tests(state, "c3", "screen") == {}
    assert known_tests(state, "c1", "verdict") == {}


def test_routers_read_the_evaluated_record_not_the_next_in_queue() -> None:
    """After a check, the candidate just checked decides the route. The next pending one may
    carry any stage (here "static", left from an earlier pass): it is not consulted."""
    rejected: AgentState = {
        "evaluated": "r1-a",
        "pending": ["r1-b"],
        "candidates": {
            "r1-a": {"stage": "static", "outcome": "rejected", "rejected_for": "guard"},
            "r1-b": {"stage": "static", "outcome": "pending"},
        },
    }
    assert not passed(rejected, "static")
    kept: AgentState = {
        "evaluated": "r1-a",
        "pending": ["r1-a", "r1-b"],
        "candidates": {
            "r1-a": {"stage": "static", "outcome": "pending"},
            "r1-b": {"stage": "proposed", "outcome": "pending"},
        },
    }
    assert passed(kept, "static")
    assert not passed(kept, "screen")
    screened: AgentState = {
        **kept,
        "candidates": {**kept["candidates"], "r1-a": {"stage": "screen", "outcome": "pending"}},
    }
    assert passed(screened, "screen")
    assert not passed({}, "static")


def test_a_failed_clone_says_why(tmp_path: Path) -> None:
    from perfagent.tools.workspace import Workspace

    with pytest.raises(WorkspaceError) as info:
        Workspace(str(tmp_path / "no-such-repo"), parent=tmp_path)
    message = str(info.value)
    assert message.startswith(f"cannot clone {tmp_path / 'no-such-repo'}: fatal: "), message
    assert "does not exist" in message and "\n" not in message
