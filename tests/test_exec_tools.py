"""The model proposer's execution tools (try_edit, run_tests) on a tiny real task: real git,
venv, sandboxed workload runs; only the chat model is scripted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from perfagent.agent.models.fake import ScriptedChatModel
from perfagent.agent.proposers.base import Proposal, ProposalRequest
from perfagent.agent.proposers.exec_tools import (
    EXEC_BUDGET_EXHAUSTED,
    DraftLab,
    ExecBudget,
    quick_session,
)
from perfagent.agent.proposers.model import ModelProposer
from perfagent.tools.bench.session import SessionConfig
from perfagent.tools.edit.paths import protected_patterns
from perfagent.tools.lab.prepared import PreparedTask
from perfagent.tools.profile import Hotspot
from perfagent.tools.taskspec import load_task
from tests.conftest import TaskFactory

TOTAL = Hotspot("total", "calc.py", (2, 7), 0.9, 0.7)
SLOW_LOOP = "        values = values + [i * i]\n"
SLOWER = f"""\
Summary: draft

calc.py
<<<<<<< SEARCH
{SLOW_LOOP}=======
{SLOW_LOOP}        values = list(values)
>>>>>>> REPLACE
"""
FASTER = """\
Summary: sum a generator instead of rebuilding the list on every step

calc.py
<<<<<<< SEARCH
    values = []
    for i in range(n):
        values = values + [i * i]
    return sum(values)
=======
    return sum(i * i for i in range(n))
>>>>>>> REPLACE
"""
BROKEN = FASTER.replace("sum(i * i for", "1 + sum(i * i for")
HIDDEN_NAME = "secret_hidden_wl"
HIDDEN = """
raise SystemExit("the hidden workload ran")

def workload():
    return 0
"""


def session() -> SessionConfig:
    return SessionConfig(min_runs=3, max_runs=6, max_time_s=30.0, warmup_rounds=1, seed=1)


@pytest.fixture
def lab(make_task: TaskFactory, tmp_path: Path) -> Iterator[DraftLab]:
    (tmp_path / f"{HIDDEN_NAME}.py").write_text(HIDDEN)
    task_file = make_task(
        hidden_workloads=[{"kind": "python", "file": f"{HIDDEN_NAME}.py", "repeat": 3}]
    )
    prepared = PreparedTask(load_task(task_file))
    try:
        yield DraftLab(prepared, session=session())
    finally:
        prepared.close()


def try_edit(edit: str) -> dict[str, Any]:
    return {"tool_calls": [{"name": "try_edit", "arguments": {"edit": edit}}]}


def propose(
    lab: DraftLab, script: list[Any], budget: ExecBudget | None = None
) -> tuple[Proposal, ScriptedChatModel]:
    model = ScriptedChatModel(script)
    request = ProposalRequest(
        tree=lab.prepared.ws.base_tree,
        hotspots=(TOTAL,),
        hints=(),
        protected=protected_patterns(lab.prepared.task),
        history=(),
        round=1,
        max_candidates=1,
        lab=lab,
    )
    proposal = ModelProposer(model, exec_budget=budget or ExecBudget()).propose(request)
    assert model.remaining == 0
    return proposal, model


def tool_answers(model: ScriptedChatModel) -> list[str]:
    return [m["content"] for m in model.requests[-1].messages if m["role"] == "tool"]


def test_a_slower_draft_is_revised_into_a_faster_answer(lab: DraftLab) -> None:
    proposal, model = propose(lab, [try_edit(SLOWER), try_edit(FASTER), FASTER])
    slower, faster = tool_answers(model)
    assert slower.startswith("screen (") and "slower" in slower.splitlines()[0]
    assert faster.startswith("screen (") and "faster" in faster.splitlines()[0]
    assert "outputs: equivalent" in faster and "tests: all 1 command pass" in faster
    assert "try_edit" in model.requests[0].tools and "run_tests" in model.requests[0].tools
    system = model.requests[0].messages[0]["content"]
    assert "at most 3 calls for this answer, seconds each" in system
    [candidate] = proposal.candidates
    assert "+    return sum(i * i for i in range(n))" in candidate.diff
    assert [run.name for run in proposal.tool_runs] == ["try_edit", "try_edit"]
    assert all(run.seconds > 0 for run in proposal.tool_runs)
    assert "slower" in proposal.tool_runs[0].result
    # every draft tree is thrown away: only the base is left
    assert all(path == lab.prepared.ws.base_tree for path in lab.prepared.ws.trees.values())


def test_run_tests_and_edit_errors_come_back_in_words(lab: DraftLab) -> None:
    script = [
        {
            "tool_calls": [
                {"name": "run_tests", "arguments": {"edit": BROKEN}},
                {"name": "try_edit", "arguments": {"edit": "no edit here"}},
                {"name": "try_edit", "arguments": {}},
            ]
        },
        FASTER,
    ]
    proposal, model = propose(lab, script, ExecBudget(max_calls=5))
    failing, unparsed, missing = tool_answers(model)
    assert failing.startswith("tests fail: python -m pytest")
    assert unparsed.startswith("edit error:")
    assert missing.startswith("try_edit needs an 'edit' argument")
    assert len(proposal.candidates) == 1 and len(proposal.tool_runs) == 3


def test_an_exhausted_budget_answers_in_words_and_the_proposal_completes(lab: DraftLab) -> None:
    again = {"tool_calls": try_edit(SLOWER)["tool_calls"] * 2}
    script = [try_edit(FASTER), again, FASTER]
    proposal, model = propose(lab, script, ExecBudget(max_calls=1))
    first, second, third = tool_answers(model)
    assert first.startswith("screen (") and "0 execution calls left" in first
    assert second == third == EXEC_BUDGET_EXHAUSTED
    assert len(proposal.candidates) == 1
    assert [run.name for run in proposal.tool_runs] == ["try_edit"]


def test_hidden_workloads_are_never_run_nor_named(lab: DraftLab) -> None:
    script = [
        try_edit(FASTER),
        {"tool_calls": [{"name": "run_tests", "arguments": {"edit": FASTER}}]},
        FASTER,
    ]
    proposal, model = propose(lab, script)
    screened, tested = tool_answers(model)
    # Had the hidden workload run, its SystemExit would have failed the measurement.
    assert screened.startswith("screen (") and "faster" in screened.splitlines()[0]
    assert tested.startswith("tests: all 1 command pass")
    said = "\n".join(tool_answers(model) + [run.result for run in proposal.tool_runs])
    assert HIDDEN_NAME not in said and "hidden" not in said


def test_the_protected_paths_told_to_a_model_leave_out_hidden_workloads(
    make_task: TaskFactory,
) -> None:
    from perfagent.agent.nodes.proposing import shown_protected
    from perfagent.tools.edit.paths import protected_patterns

    hidden = {"kind": "python", "file": f"{HIDDEN_NAME}.py", "repeat": 3}
    task = load_task(make_task(hidden_workloads=[hidden]))
    assert f"{HIDDEN_NAME}.py" in protected_patterns(task)  # the guard still refuses edits
    told = shown_protected(task)
    assert not any(HIDDEN_NAME in p for p in told) and "tests/**" in told


def test_the_quick_session_stays_small() -> None:
    assert quick_session().max_runs <= 6 and quick_session().min_runs <= 3


@pytest.mark.slow
def test_a_run_records_the_tool_calls_in_its_round(make_task: TaskFactory, tmp_path: Path) -> None:
    from perfagent.agent.context import Budgets, RunContext
    from perfagent.agent.run import run_graph

    model = ScriptedChatModel([try_edit(FASTER), FASTER])
    proposer = ModelProposer(model, max_tool_calls=0, exec_budget=ExecBudget(max_calls=1))
    run_dir = tmp_path / "run"
    ctx = RunContext(
        task_file=make_task(),
        run_dir=run_dir,
        run_id=run_dir.name,
        proposer=proposer,
        proposer_spec="fake:script",
        candidates_per_round=1,
        budgets=Budgets(max_iterations=1),
    )
    doc = run_graph(ctx)
    assert doc["status"] == "done" and doc["error"] is None
    [run] = doc["rounds"][0]["tool_runs"]
    assert run["name"] == "try_edit" and run["result"].startswith("screen (")
    assert "faster" in run["result"] and run["seconds"] > 0
    assert [c["outcome"] for c in doc["candidates"]] == ["accepted"]
