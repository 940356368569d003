"""Shared pieces of the nodes: timing, the task, the run's workspace, candidate records."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from langgraph.runtime import Runtime

from perfagent.agent.context import RunContext
from perfagent.agent.proposers.base import Attempt
from perfagent.agent.state import AgentState
from perfagent.agent.types import Rejection, Stage
from perfagent.tools.lab.prepared import PreparedTask
from perfagent.tools.taskspec import Task, load_task

Update = dict[str, Any]


class Node(Protocol):
    def __call__(self, state: AgentState, *, runtime: Runtime[RunContext]) -> Update: ...


def timed(name: str) -> Callable[[Node], Node]:
    """Record the node's wall time (plus what the node itself reports: measure_s, model_s,
    profile_s) as one entry of ``timings``; the budgets and the overhead figure read them."""

    def wrap(node: Node) -> Node:
        @functools.wraps(node)
        def run(state: AgentState, *, runtime: Runtime[RunContext]) -> Update:
            started = time.monotonic()
            run_id = run_id_of(state, runtime.context)
            preparing = runtime.context.workspaces.seconds(run_id)
            update = node(state, runtime=runtime)
            parts = update.pop("_timing", {})
            entry = {
                "node": name,
                "round": state.get("round", 0),
                "wall_s": time.monotonic() - started,
                "prepare_s": runtime.context.workspaces.seconds(run_id) - preparing,
                **parts,
            }
            return {**update, "timings": [entry]}

        return run

    return wrap


def task_of(state: AgentState) -> Task:
    return load_task(state["task_file"])


def run_id_of(state: AgentState, ctx: RunContext) -> str:
    return state.get("run_id") or ctx.run_id


def prepared(state: AgentState, ctx: RunContext) -> PreparedTask:
    """The run's one workspace (made on first use, also after a resume)."""
    return ctx.workspaces.of(
        run_id_of(state, ctx), task_of(state), workdir_parent=ctx.workdir_parent, say=ctx.progress
    )


def base_tree(state: AgentState, ctx: RunContext) -> Path:
    """The run's base: the task's base with the kept edits (one tree, kept across nodes)."""
    return prepared(state, ctx).tree([("kept edits", state.get("baseline_patch") or "")])


def elapsed(state: AgentState) -> float:
    return sum(float(t.get("wall_s", 0.0)) for t in state.get("timings", []))


def spent(state: AgentState) -> float:
    return sum(float(c.get("cost_usd") or 0.0) for c in state.get("calls", []))


def budget_stop(state: AgentState, ctx: RunContext) -> str | None:
    """A budget that is used up, named as the stop reason, or None."""
    budgets = ctx.budgets
    if budgets.max_time is not None and elapsed(state) >= budgets.max_time:
        return "max time"
    if budgets.max_cost is not None and spent(state) >= budgets.max_cost:
        return "max cost"
    return None


def history(state: AgentState) -> tuple[Attempt, ...]:
    attempts = []
    for record in state.get("candidates", {}).values():
        if record.get("outcome") in (None, "pending"):
            continue
        attempts.append(
            Attempt(
                candidate_id=record["id"],
                qualname=record["qualname"],
                rule_id=record.get("rule_id"),
                outcome=record["outcome"]
                if record["outcome"] == "accepted"
                else record.get("stage", ""),
                reason=record.get("reason", ""),
                diff=record["diff"],
                speedup=record.get("speedup"),
                verdict=record.get("verdict"),
                rejected_for=record.get("rejected_for"),
            )
        )
    return tuple(attempts)


def reject(candidate_id: str, stage: Stage, why: Rejection, reason: str, **facts: Any) -> Update:
    return {
        "candidates": {
            candidate_id: {
                "outcome": "rejected",
                "stage": stage,
                "rejected_for": why,
                "reason": reason,
                **facts,
            }
        }
    }


def next_pending(state: AgentState) -> str | None:
    pending = state.get("pending", [])
    return pending[0] if pending else None


def after(state: AgentState) -> list[str]:
    """The pending list once its head is done."""
    return list(state.get("pending", []))[1:]
