"""Close a round: keep the best significant gain, make it the new baseline, decide to go on."""

from __future__ import annotations

from langgraph.runtime import Runtime

from perfagent.agent.context import RunContext
from perfagent.agent.nodes._common import Update, base_tree, budget_stop, prepared, timed
from perfagent.agent.state import AgentState
from perfagent.tools.progress import StageStarted


def _keep(state: AgentState, ctx: RunContext, diff: str) -> str:
    """The kept edits plus ``diff`` as one diff against the task's base. The candidate's tree
    becomes the next round's base tree; the round's other trees are removed."""
    prep = prepared(state, ctx)
    tree = prep.tree(
        [("kept edits", state.get("baseline_patch") or ""), ("accepted candidate", diff)]
    )
    combined = prep.diff(tree)
    prep.alias(tree, [combined])
    prep.keep_only([tree, prep.repo_dir])
    return combined


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
        update["baseline_patch"] = _keep(state, ctx, best["diff"])
        update["accepted"] = [*state.get("accepted", []), best["id"]]
        update["estimated_speedup"] = state.get("estimated_speedup", 1.0) * float(best["speedup"])
        ctx.progress(
            StageStarted("decide", f"round {round_}: kept {best['id']} ({best['speedup']:.3f}×)")
        )
    else:
        prep = prepared(state, ctx)
        prep.keep_only([base_tree(state, ctx), prep.repo_dir])
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
