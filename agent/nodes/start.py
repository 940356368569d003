"""The first two nodes: check the task, then check that base builds, passes and runs."""

from __future__ import annotations

from langgraph.runtime import Runtime

from perfagent.agent.context import RunContext
from perfagent.agent.nodes._common import Update, prepared, task_of, timed
from perfagent.agent.state import AgentState
from perfagent.tools.lab.baseline import check_baseline
from perfagent.tools.progress import StageStarted


@timed("prepare")
def prepare(state: AgentState, *, runtime: Runtime[RunContext]) -> Update:
    """Validate the task (a malformed one stops the run before anything is built)."""
    task = task_of(state)
    runtime.context.progress(StageStarted("task", f"task {task.id}: {task.path}"))
    return {
        "round": state.get("round") or 1,
        "baseline_patch": state.get("baseline_patch", ""),
        "accepted": state.get("accepted", []),
        "estimated_speedup": state.get("estimated_speedup", 1.0),
        "rounds_without_gain": state.get("rounds_without_gain", 0),
        "pending": [],
        "stop_reason": None,
        "final": None,
        "error": None,
    }


@timed("baseline")
def baseline(state: AgentState, *, runtime: Runtime[RunContext]) -> Update:
    """Base must pass its tests and run every workload; otherwise nothing can be judged."""
    ctx = runtime.context
    ctx.progress(StageStarted("baseline", "baseline: build, tests, one run of each workload"))
    check = check_baseline(task_of(state), prepared=prepared(state, ctx))
    return {"baseline": check.to_json(), "_timing": {"measure_s": check.elapsed_s}}
