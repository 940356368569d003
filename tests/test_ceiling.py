"""The ceiling benchmark: the expert model (answers with the task's expert patch), the
ceiling section of a batch summary, and a real batch of the bundled examples with it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from perfagent.agent.batch.ceiling import ceiling, why_lost
from perfagent.agent.cli import main
from perfagent.agent.cli.batch import batch_command
from perfagent.agent.models.base import ModelError
from perfagent.agent.models.expert import ExpertChatModel, answerable
from perfagent.agent.proposers import judge_of, make_proposer
from perfagent.tools.edit import apply_edits, parse_edits
from perfagent.tools.edit.paths import default_protected
from perfagent.tools.taskspec import load_task
from perfagent.tools.workspace import Workspace
from tests.conftest import EXAMPLES

CLI = type(main)(name="perfagent", commands=[batch_command])
TOKENIZER = EXAMPLES / "tokenizer.yaml"


def test_the_expert_model_answers_with_the_expert_diff_that_the_editor_applies() -> None:
    model = ExpertChatModel.for_task(TOKENIZER)
    answer = model.complete([{"role": "user", "content": "make it faster"}]).text
    assert answer.startswith("Summary: ")
    task = load_task(TOKENIZER)
    expert = (task.dir / "tokenizer" / "expert.diff").read_text()
    assert expert.strip() in answer
    # What the model proposer does with an answer: parse, apply to a tree.
    with Workspace(task.repo_location()) as ws:
        outcome = apply_edits(ws.base_tree, parse_edits(answer), protected=default_protected())
        assert outcome.changed_files == ("stencil/lexer.py",)
        assert ws.diff(ws.base_tree) == expert


def test_protected_files_are_left_out_of_the_answer() -> None:
    diff = (
        "diff --git a/pkg/m.py b/pkg/m.py\n--- a/pkg/m.py\n+++ b/pkg/m.py\n@@ -1 +1 @@\n-a\n+b\n"
        "diff --git a/tests/test_m.py b/tests/test_m.py\n--- a/tests/test_m.py\n"
        "+++ b/tests/test_m.py\n@@ -1 +1 @@\n-x\n+y\n"
    )
    kept, dropped = answerable(diff, default_protected(["bench/w.py"]))
    assert dropped == ["tests/test_m.py"]
    assert kept.startswith("diff --git a/pkg/m.py") and "tests/" not in kept
    with pytest.raises(ModelError, match="changes no file a model may edit"):
        ExpertChatModel(answerable(diff.split("diff --git a/tests")[0], ["pkg/**"])[0])


def test_the_expert_proposer_needs_a_task_and_never_judges() -> None:
    with pytest.raises(ModelError, match="needs a task file"):
        make_proposer("expert")
    proposer = make_proposer("expert", task_file=TOKENIZER)
    assert judge_of(proposer) is None


def _row(task: str, **fields: Any) -> dict[str, Any]:
    return {"task": task, "k": 0, "status": "done", **fields}


def test_the_ceiling_names_each_lost_task_and_why(tmp_path: Path) -> None:
    trajectory = tmp_path / "t.traj.json"
    trajectory.write_text(
        json.dumps(
            {
                "candidates": [
                    {"source": "model", "stage": "screen", "reason": "not faster: same 1.01×"}
                ]
            }
        )
    )
    rows = [
        _row("won", applied=True, speedup=2.0, expert_speedup=2.0, gso_opt=True),
        _row("slow", applied=True, speedup=1.1, expert_speedup=1.1, gso_opt=False),
        _row("dropped", applied=False, trajectory=str(trajectory)),
        _row("broke", status="failed", error="setup failed"),
    ]
    oracle = [{"task": "won", "reproduces": True}, {"task": "slow", "reproduces": False}]
    c = ceiling(rows, oracle, ["won", "slow", "dropped", "broke", "missing"])
    assert c.opt_at_1 == pytest.approx(1 / 5)
    assert (c.oracle_measured, c.oracle_reproduces) == (2, 1)
    assert c.mean_expert_share == pytest.approx(1.0)  # the two runs with an expert figure
    lost = dict(c.lost)
    assert list(lost) == ["slow", "dropped", "broke", "missing"]
    assert "below GSO's 1.2×" in lost["slow"]
    assert lost["dropped"] == "no edit kept: rejected at screen: not faster: same 1.01×"
    assert lost["broke"] == "run failed: setup failed"
    assert lost["missing"] == "not run"
    assert why_lost(_row("x", applied=False, trajectory=str(tmp_path / "none"))).startswith(
        "no edit kept"
    )


@pytest.mark.slow
def test_ceiling_batch_on_the_bundled_examples(tmp_path: Path) -> None:
    """Every bundled example's expert, proposed by the expert model, goes through the whole
    pipeline and is kept; summary.md reports the ceiling next to the oracle."""
    out = tmp_path / "batch"
    args = [
        "batch", *[str(p) for p in sorted(EXAMPLES.glob("*.yaml"))], "--model", "expert",
        "--max-iterations", "1", "--candidates", "1", "--max-runs", "12", "--no-judge",
        "--workers", "2", "--out", str(out), "--json",
    ]  # fmt: skip
    done = CliRunner().invoke(CLI, args, catch_exceptions=False)
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    rows = result["rows"]
    assert len(rows) == 4
    for row in rows:
        assert (row["task"], row["status"], row["applied"]) == (row["task"], "done", True)
        assert row["verdict"] == "faster", row
        assert row["calls"] >= 1 and row["cost_usd"] == 0.0
    summary = (out / "summary.md").read_text()
    assert "## Ceiling: the pipeline with the expert's own patch as the answer" in summary
    wins = sum(bool(r["gso_opt"]) for r in rows)
    assert f"**ceiling Opt@1**: {wins / 4:.1%} of 4 task(s)" in summary
    assert "**oracle (expert alone)**: not measured" in summary
    lost = re.findall(r"^- `([\w-]+)`: ", summary.split("Tasks the ceiling loses:")[-1], re.M)
    assert sorted(lost) == sorted(r["task"] for r in rows if not r["gso_opt"])
