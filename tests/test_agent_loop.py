"""The whole loop: a scripted chat model (the only fake), real git, venvs, workloads and lab."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from perfagent.agent.cli import main
from perfagent.agent.context import Budgets, RunContext
from perfagent.agent.models.fake import ScriptedChatModel
from perfagent.agent.proposers.model import ModelProposer
from perfagent.agent.run import run_graph
from tests.conftest import EXAMPLES, TaskFactory

pytestmark = pytest.mark.slow

OLD_BODY = """\
    values = []
    for i in range(n):
        values = values + [i * i]
    return sum(values)
"""


def edit(summary: str, new_body: str, path: str = "calc.py", old: str = OLD_BODY) -> str:
    return (
        f"Summary: {summary}\n\n{path}\n<<<<<<< SEARCH\n{old}=======\n{new_body}>>>>>>> REPLACE\n"
    )


GOOD = edit("sum a generator", "    return sum(i * i for i in range(n))\n")
WRONG = edit("off by one", "    return sum(i * i for i in range(n + 1))\n")
SLOWER = edit(
    "copy twice",
    "    values = []\n    for i in range(n):\n        values = values + [i * i]\n"
    "        values = list(values)\n    return sum(values)\n",
)
UNPARSEABLE = "You should really rewrite this in Rust."
EDITS_TESTS = edit(
    "make the test easier",
    "    assert True\n",
    path="tests/test_calc.py",
    old="    assert calc.total(4) == 14\n",
)


def context(task_file: Path, run_dir: Path, proposer: Any, **kw: Any) -> RunContext:
    return RunContext(
        task_file=task_file,
        run_dir=run_dir,
        run_id=run_dir.name,
        proposer=proposer,
        proposer_spec=kw.pop("spec", "fake:script"),
        **kw,
    )


def test_loop_keeps_the_good_edit_and_rejects_the_rest(
    make_task: TaskFactory, tmp_path: Path
) -> None:
    task_file = make_task()
    judgement = "VERDICT: suspicious\n- calc.py::total: looks tuned to n = 3000"
    model = ScriptedChatModel([UNPARSEABLE, EDITS_TESTS, WRONG, SLOWER, GOOD, judgement])
    proposer = ModelProposer(
        model, temperatures=(0.1, 0.3, 0.5, 0.7, 0.9), max_repairs=0, max_tool_calls=0
    )
    ctx = context(
        task_file,
        tmp_path / "run",
        proposer,
        candidates_per_round=5,
        budgets=Budgets(max_iterations=1),
        judge=model,
    )
    doc = run_graph(ctx)

    assert doc["status"] == "done" and doc["error"] is None
    by_summary = {c["rationale"]: c for c in doc["candidates"]}
    assert set(by_summary) == {"off by one", "copy twice", "sum a generator"}
    wrong, slower, good = (by_summary[s] for s in ("off by one", "copy twice", "sum a generator"))
    assert (wrong["outcome"], wrong["stage"]) == ("rejected", "screen")
    assert wrong["reason"].startswith("tests fail: ")
    assert slower["outcome"] == "rejected" and slower["stage"] in ("screen", "verdict")
    assert slower["speedup"] < 1.0
    assert (good["outcome"], good["stage"], good["verdict"]) == ("accepted", "verdict", "faster")
    assert good["equivalent"] is True and good["tests_passed"] is True
    # The unparseable answer and the test edit never became candidates; each left a reason.
    errors = doc["rounds"][0]["proposer_errors"]
    assert len(errors) == 2
    assert any("tests/test_calc.py" in e and "protected" in e for e in errors), errors
    assert doc["stop_reason"] == "max iterations"
    # Every call is accounted for: five proposals, then the judge's review of the final diff.
    assert doc["usage"]["calls"] == len(doc["calls"]) == 6
    assert [c["purpose"] for c in doc["calls"]][-1] == "judge"
    assert doc["usage"]["input_tokens"] == sum(c["input_tokens"] for c in doc["calls"]) > 0
    # The final patch is the good edit, measured against the original base and the expert.
    final = doc["final"]
    assert "+    return sum(i * i for i in range(n))" in final["patch"]
    assert final["verdict"] == "faster" and final["equivalent"] is True
    assert final["expert_verdict"] == "faster"
    # The judge's concern is a flag in the report, not a rejection.
    assert final["flags"] == ["judge: calc.py::total: looks tuned to n = 3000"]
    run_dir = tmp_path / "run"
    assert (run_dir / "patch.diff").read_text() == final["patch"]
    html = (run_dir / "report.html").read_text()
    assert wrong["id"] in html and "tests fail" in html and "<svg" in html
    assert [p["round"] for p in doc["profiles"]] == [1, "final"]
    # Each profile is also in the run dir as speedscope JSON, and the report shows the
    # distribution plot and the differential flame graph (after vs before).
    # (The good edit may leave the final profile too brief to sample: then it has no stacks.)
    sampled = {p["round"]: bool(p["profile"].get("collapsed")) for p in doc["profiles"]}
    assert sampled[1]
    for label in (1, "final"):
        speedscope = json.loads((run_dir / f"profile-{label}.speedscope.json").read_text())
        assert speedscope["profiles"][0]["type"] == "sampled"
        assert bool(speedscope["shared"]["frames"]) == sampled[label]
    assert 'class="distribution"' in html
    assert ('class="flamegraph diff"' in html) == sampled["final"]
    # The headline covers every workload.
    assert final["overall"]["workloads"] == len(final["overall"]["per_workload"]) >= 1
    assert final["overall"]["worst"] in final["overall"]["per_workload"]
    # Where the round's time went: the final session counts as session time, not overhead.
    timing = doc["rounds"][0]["timing"]
    sessions = sum(w["elapsed_s"] for m in doc["measurements"] for w in m["report"]["workloads"])
    assert timing["session_s"] == pytest.approx(sessions)
    assert 0 <= timing["overhead_s"] < timing["wall_s"]


def test_budgets_stop_the_run_cleanly(make_task: TaskFactory, tmp_path: Path) -> None:
    task_file = make_task(expert=None)
    model = ScriptedChatModel([GOOD, GOOD])
    proposer = ModelProposer(model, max_tool_calls=0)
    ctx = context(
        task_file,
        tmp_path / "run",
        proposer,
        budgets=Budgets(max_time=0.5),
        candidates_per_round=2,
    )
    doc = run_graph(ctx)
    assert doc["status"] == "done"
    assert doc["stop_reason"] == "max time"
    [candidate] = doc["candidates"]  # the second slot repeated the first edit: dropped
    assert candidate["outcome"] == "skipped"
    assert candidate["reason"] == "not evaluated: max time"
    assert doc["final"]["patch"] == "" and doc["measurements"] == []


def test_cost_budget_stops_model_calls(make_task: TaskFactory, tmp_path: Path) -> None:
    task_file = make_task(expert=None)
    # 1000 USD per million tokens: one call exceeds the 0.001 USD budget.
    model = ScriptedChatModel([UNPARSEABLE, GOOD], price=(1000.0, 1000.0))
    proposer = ModelProposer(model, max_tool_calls=0, max_repairs=0)
    ctx = context(
        task_file,
        tmp_path / "run",
        proposer,
        budgets=Budgets(max_cost=0.001),
        candidates_per_round=2,
    )
    doc = run_graph(ctx)
    assert len(doc["calls"]) == 1 and doc["usage"]["cost_usd"] > 0.001
    assert doc["stop_reason"] == "max cost"
    assert any("budget reached" in e for e in doc["rounds"][0]["proposer_errors"])


def _wait_for(path_glob: str, root: Path, test: Any, timeout: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in root.glob(path_glob):
            try:
                doc = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError):
                continue
            if test(doc):
                return dict(doc)
        time.sleep(0.2)
    raise AssertionError(f"nothing matched in {root} within {timeout}s")


def test_resume_after_a_kill_repeats_no_finished_measurement(
    make_task: TaskFactory, tmp_path: Path
) -> None:
    task_file = make_task(expert=None)
    script = tmp_path / "script.json"
    script.write_text(json.dumps([GOOD]))
    runs = tmp_path / "runs"
    command = [
        sys.executable, "-m", "perfagent", "optimize", str(task_file),
        "--model", f"fake:{script}", "--candidates", "1", "--runs-dir", str(runs), "--json",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        before = _wait_for(
            "*/*.traj.json",
            runs,
            lambda d: any(m["kind"] == "screen" for m in d["measurements"]),
        )
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert before["status"] == "running"
    [run_dir] = [p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".")]

    result = CliRunner().invoke(
        main, ["optimize", "--resume", run_dir.name, "--runs-dir", str(runs), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    doc = json.loads(Path(summary["trajectory"]).read_text())
    assert doc["status"] == "done" and summary["verdict"] == "faster"
    kinds = [(m["kind"], m["candidate"]) for m in doc["measurements"]]
    # The screen finished before the kill: it is not measured again.
    assert kinds.count(("screen", "r1-model-1-1")) == 1
    assert kinds.count(("verdict", "r1-model-1-1")) == 1
    assert [t["node"] for t in doc["timings"]].count("screen") == 1
    assert doc["candidates"][0]["outcome"] == "accepted"


def test_rules_proposer_on_an_example(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "optimize",
            str(EXAMPLES / "dedupe_logs.yaml"),
            "--max-iterations",
            "1",
            "--candidates",
            "3",
            "--no-expert",
            "--runs-dir",
            str(tmp_path),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["verdict"] == "faster" and summary["equivalent"] is True
    doc = json.loads(Path(summary["trajectory"]).read_text())
    [kept] = [c for c in doc["candidates"] if c["outcome"] == "accepted"]
    assert kept["source"] == "rules" and kept["rule_id"] == "list-index-to-dict"
    assert doc["usage"]["calls"] == 0
