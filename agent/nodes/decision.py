"""Close a round: keep the best significant gain, make it the new baseline, decide to go on."""

from __future__ import annotations

from langgraph.runtime import Runtime

from perfagent.agent.context import RunContext
from perfagent.agent.nodes._common import Update, budget_stop, task_of, timed
from perfagent.agent.state import AgentState
from perfagent.tools.progress import StageStarted
from perfagent.tools.workspace import Workspace


def _combined_patch(state: AgentState, ctx: RunContext, diff: str) -> str:
    """The kept edits plus ``diff``, as one diff against the task's base."""
    task = task_of(state)
    with Workspace(task.repo_location(), task.spec.ref, parent=ctx.workdir_parent) as ws:
        if state.get("baseline_patch"):
            ws.apply_patch(ws.base_tree, state["baseline_patch"], label="kept edits")
        ws.apply_patch(ws.base_tree, diff, label="accepted candidate")
        return ws.diff(ws.base_tree)


@timed("decide")
def decide(state: AgentState, *, runtime: Runtime[RunContext]) -> Update:
    ctx = runtime.context
    round_ = state.get("round", 1)
    mine = [c for c in state.get("candidates", {}).values() if c.get("round") == round_]
    winners = sorted(
        (c for c in mine if c.get("outcome") == "faster"), key=lambda c: -float(c["speedup"])
    )
    update: Update = {"candidates": {}, "pending": []}
    for record in mine:
        if record.get("outcome") == "pending":  # a budget ran out mid-round
            update["candidates"][record["id"]] = {
                "outcome": "skipped",
                "reason": f"not evaluated: {budget_stop(state, ctx) or 'round ended'}",
            }
    gain = bool(winners)
    if winners:
        best = winners[0]
        update["candidates"][best["id"]] = {"outcome": "accepted", "reason": "kept"}
        for other in winners[1:]:
            update["candidates"][other["id"]] = {
                "outcome": "superseded",
                "reason": f"faster, but {best['id']} was faster ({best['speedup']:.3f}×)",
            }
        update["baseline_patch"] = _combined_patch(state, ctx, best["diff"])
        update["accepted"] = [*state.get("accepted", []), best["id"]]
        update["estimated_speedup"] = state.get("estimated_speedup", 1.0) * float(best["speedup"])
        ctx.progress(
            StageStarted("decide", f"round {round_}: kept {best['id']} ({best['speedup']:.3f}×)")
        )
    else:
        ctx.progress(StageStarted("decide", f"round {round_}: nothing kept"))
    without_gain = 0 if gain else state.get("rounds_without_gain", 0) + 1
    update["rounds_without_gain"] = without_gain
    estimate = update.get("estimated_speedup", state.get("estimated_speedup", 1.0))
    budgets = ctx.budgets
    stop: str | None
    if budgets.target is not None and estimate >= budgets.target:
        stop = "target reached"
    elif (used_up := budget_stop(state, ctx)) is not None:
        stop = used_up
    elif not mine:
        stop = "no candidates"
    elif round_ >= budgets.max_iterations:
        stop = "max iterations"
    elif without_gain >= budgets.patience:
        stop = f"no gain in {without_gain} rounds"
    else:
        stop = None
    update["stop_reason"] = stop
    if stop is None:
        update["round"] = round_ + 1
    return update
