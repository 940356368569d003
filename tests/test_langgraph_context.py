"""The graph as LangGraph's server runs it (``langgraph dev``, Studio, the LangGraph API): the
run's context arrives as plain JSON and becomes a ``RunContext`` without Python objects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from perfagent.agent.context import Budgets, RunContext
from perfagent.agent.graph import build_graph
from perfagent.agent.proposers.rules import RuleProposer
from perfagent.tools.bench.session import SessionConfig

EXAMPLE = Path(__file__).parent.parent / "tasks/examples/dedupe_logs.yaml"


def plain_context(run_dir: Path) -> dict[str, Any]:
    """What a client of the LangGraph API sends: JSON values only."""
    settings = {
        "task_file": str(EXAMPLE),
        "run_dir": str(run_dir),
        "run_id": "r1",
        "proposer_spec": "rules",
        "budgets": {"max_iterations": 1, "patience": 1},
        "verdict": {"max_runs": 10},
        "judge": False,
        "workdir_parent": str(run_dir),
    }
    loaded: dict[str, Any] = json.loads(json.dumps(settings))
    return loaded


def test_a_context_is_built_from_plain_json(tmp_path: Path) -> None:
    ctx = RunContext(**plain_context(tmp_path))
    assert (ctx.task_file, ctx.run_dir, ctx.workdir_parent) == (EXAMPLE, tmp_path, tmp_path)
    assert ctx.budgets == Budgets(max_iterations=1, patience=1)
    assert ctx.verdict == SessionConfig(max_runs=10) and ctx.screen.max_runs == 8
    assert isinstance(ctx.proposer, RuleProposer) and ctx.judge is None
    # What --resume stores describes the same run.
    again = ctx.settings_json()
    assert again["budgets"]["max_iterations"] == 1 and again["proposer"] == "rules"


def test_the_graph_coerces_a_json_context_for_its_nodes(tmp_path: Path) -> None:
    # Stop after the first node: it only needs the task file and the context's progress
    # callback, which a plain dict would not have.
    graph = build_graph().compile(interrupt_after=["prepare"])
    state = graph.invoke(
        {"task_file": str(EXAMPLE), "run_id": "r1"}, context=plain_context(tmp_path)
    )
    assert state["round"] == 1 and state["baseline_patch"] == "" and state["final"] is None


def test_langgraph_json_names_the_compiled_graph() -> None:
    config = json.loads((Path(__file__).parent.parent / "langgraph.json").read_text())
    module, _, name = config["graphs"]["perfagent"].partition(":")
    assert (module, name) == ("./agent/graph.py", "graph")
