"""Shared pieces of the nodes: timing, the task, the baseline tree, candidate records."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from langgraph.runtime import Runtime

from perfagent.agent.context import RunContext
from perfagent.agent.proposers.base import Attempt
from perfagent.agent.state import AgentState
from perfagent.tools.taskspec import Task, load_task
from perfagent.tools.workspace import Workspace

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
            update = node(state, runtime=runtime)
            parts = update.pop("_timing", {})
            entry = {
                "node": name,
                "round": state.get("round", 0),
                "wall_s": time.monotonic() - started,
                **parts,
            }
            return {**update, "timings": [entry]}

        return run

    return wrap


def task_of(state: AgentState) -> Task:
    return load_task(state["task_file"])


@contextmanager
def baseline_tree(task: Task, state: AgentState, ctx: RunContext) -> Iterator[Path]:
    """A private tree of the task's base with the kept edits applied; removed afterwards."""
    with Workspace(task.repo_location(), task.spec.ref, parent=ctx.workdir_parent) as ws:
        if state.get("baseline_patch"):
            ws.apply_patch(ws.base_tree, state["baseline_patch"], label="kept edits")
        yield ws.base_tree


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
            )
        )
    return tuple(attempts)


def reject(candidate_id: str, stage: str, reason: str, **facts: Any) -> Update:
    return {
        "candidates": {
            candidate_id: {"outcome": "rejected", "stage": stage, "reason": reason, **facts}
        }
    }


def next_pending(state: AgentState) -> str | None:
    pending = state.get("pending", [])
    return pending[0] if pending else None


def after(state: AgentState) -> list[str]:
    """The pending list once its head is done."""
    return list(state.get("pending", []))[1:]
