"""Ask the proposer for this round's candidates; drop any it already tried."""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime

from perfagent.agent.context import RunContext
from perfagent.agent.nodes._common import (
    Update,
    base_tree,
    history,
    prepared,
    spent,
    task_of,
    timed,
)
from perfagent.agent.nodes.profiling import hotspots_of
from perfagent.agent.proposers.base import ProposalRequest
from perfagent.agent.proposers.exec_tools import DraftLab
from perfagent.agent.state import AgentState
from perfagent.tools.edit.paths import normalize_path, protected_patterns
from perfagent.tools.progress import StageStarted
from perfagent.tools.taskspec import Task


def shown_protected(task: Task) -> tuple[str, ...]:
    """The protected paths a proposer may be told of: all but the hidden workloads' files,
    whose names must not reach a model (the guard still refuses edits to them)."""
    hidden = {normalize_path(w.file) for w in task.spec.hidden_workloads if w.file}
    return tuple(p for p in protected_patterns(task) if p not in hidden)


@timed("propose")
def propose(state: AgentState, *, runtime: Runtime[RunContext]) -> Update:
    ctx = runtime.context
    task = task_of(state)
    round_ = state.get("round", 1)
    latest = state.get("profiles", [])[-1]["profile"] if state.get("profiles") else {}
    ctx.progress(
        StageStarted("propose", f"round {round_}: asking {ctx.proposer_spec} for candidates")
    )
    started = time.monotonic()
    tree = base_tree(state, ctx)
    request = ProposalRequest(
        tree=tree,
        hotspots=hotspots_of(latest),
        hints=tuple(task.spec.targets),
        protected=shown_protected(task),
        history=history(state),
        round=round_,
        max_candidates=ctx.candidates_per_round,
        profile_detail=latest,
        budget_usd=None
        if ctx.budgets.max_cost is None
        else max(0.0, ctx.budgets.max_cost - spent(state)),
        lab=DraftLab(
            prepared(state, ctx),
            base_patch=state.get("baseline_patch") or "",
            workdir_parent=ctx.workdir_parent,
        ),
    )
    proposal = ctx.proposer.propose(request)
    model_s = sum(call.latency_s for call in proposal.calls)
    exec_s = sum(run.seconds for run in proposal.tool_runs)
    tried = {record["diff"] for record in state.get("candidates", {}).values()}
    records: dict[str, dict[str, Any]] = {}
    errors = list(proposal.errors)
    for candidate in proposal.candidates:
        if candidate.diff in tried:
            errors.append(f"{candidate.id}: the same edit was already tried; skipped")
            continue
        tried.add(candidate.diff)
        record_id = f"r{round_}-{candidate.id}"
        records[record_id] = {
            **candidate.to_json(),
            "id": record_id,
            "round": round_,
            "outcome": "pending",
            "stage": "proposed",
            "reason": "",
            "flags": [],
        }
    return {
        "candidates": records,
        "pending": list(records),
        "calls": [{**call.to_json(), "round": round_} for call in proposal.calls],
        "proposals": [
            {
                "round": round_,
                "proposer": ctx.proposer_spec,
                "candidates": list(records),
                "errors": errors,
                "tool_runs": [run.to_json() for run in proposal.tool_runs],
            }
        ],
        "_timing": {
            "model_s": model_s,
            "measure_s": exec_s,  # try_edit and run_tests: the lab's time
            "propose_s": time.monotonic() - started,
        },
    }
