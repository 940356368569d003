"""Drive one optimisation run: the compiled graph with a SQLite checkpointer, the trajectory
rewritten after every step, and resume from the last finished node after a kill."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from pathlib import Path
from typing import Any, cast

from langgraph.checkpoint.sqlite import SqliteSaver

from perfagent.agent.context import RunContext
from perfagent.agent.graph import build_graph
from perfagent.agent.state import AgentState
from perfagent.agent.trajectory import build_trajectory, trajectory_path, write_trajectory
from perfagent.tools.errors import PerfagentError
from perfagent.tools.progress import RunPosition

RECURSION_LIMIT = 10_000  # nodes per run; budgets stop a run long before this


class RunError(PerfagentError):
    """A run that cannot be started or resumed."""


def new_run_id(task_id: str) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{task_id}-{secrets.token_hex(2)}"


def load_settings(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "settings.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RunError(f"{run_dir}: no run to resume here (settings.json missing)") from exc
    except json.JSONDecodeError as exc:
        raise RunError(f"{path}: not valid JSON ({exc})") from exc
    return data


def position(state: AgentState, ctx: RunContext) -> RunPosition:
    """Round r of max and candidate k of n, from the state after a step."""
    round_ = state.get("round") or 1
    mine = [c for c in (state.get("candidates") or {}).values() if c.get("round") == round_]
    pending = state.get("pending") or []
    return RunPosition(
        round=round_,
        max_rounds=ctx.budgets.max_iterations,
        candidate=len(mine) - len(pending) + 1 if pending else 0,
        candidates=len(mine),
        elapsed_s=time.monotonic() - ctx.started,
        max_time_s=ctx.budgets.max_time,
    )


def run_graph(ctx: RunContext, *, resume: bool = False) -> dict[str, Any]:
    """Run (or continue) the graph to the end; returns the final trajectory document.

    A ``PerfagentError`` (bad task, failing baseline) is recorded in the trajectory as
    ``failed`` and re-raised; a kill leaves the last step's trajectory and checkpoint.
    """
    ctx.run_dir.mkdir(parents=True, exist_ok=True)
    settings = ctx.run_dir / "settings.json"
    if not resume:
        if settings.exists():
            raise RunError(f"{ctx.run_dir}: a run already exists here; resume it instead")
        settings.write_text(json.dumps(ctx.settings_json(), indent=1), encoding="utf-8")
    with SqliteSaver.from_conn_string(str(ctx.run_dir / "checkpoints.sqlite")) as saver:
        graph = build_graph().compile(checkpointer=saver)
        config: Any = {
            "configurable": {"thread_id": ctx.run_id},
            "recursion_limit": RECURSION_LIMIT,
        }
        state: AgentState = {"task_file": str(ctx.task_file), "run_id": ctx.run_id}
        if resume:
            saved = graph.get_state(config)
            if not saved.values:
                raise RunError(f"{ctx.run_dir}: no checkpoint to resume from")
            state = cast(AgentState, saved.values)
        inputs = None if resume else state
        status, error = "running", None
        # The driver's own clock: with the nodes' wall times it gives what LangGraph, the
        # checkpoints and the trajectory writes cost (this process only, not resumed parts).
        started, writing = time.monotonic(), 0.0
        try:
            # durability="sync": a step's checkpoint is on disk before the next step starts,
            # so a kill never loses a finished measurement.
            for values in graph.stream(
                inputs, config, context=ctx, stream_mode="values", durability="sync"
            ):
                state = cast(AgentState, values)
                ctx.progress(position(state, ctx))
                before = time.monotonic()
                write_trajectory(
                    trajectory_path(ctx, state), build_trajectory(state, ctx, status="running")
                )
                writing += time.monotonic() - before
            status = "done"
        except PerfagentError as exc:
            status, error = "failed", str(exc)
            raise
        finally:
            # A kill by signal skips this; the last step's trajectory is already on disk.
            state = cast(AgentState, graph.get_state(config).values or state)
            doc = build_trajectory(state, ctx, status=status, error=error)
            doc["driver"] = {
                "wall_s": time.monotonic() - started,
                "trajectory_writes_s": writing,
                "resumed": resume,
                # clones, setups, trees, builds, tests run and reused (this process only)
                "workspace": ctx.workspaces.counts(ctx.run_id),
            }
            write_trajectory(trajectory_path(ctx, state), doc)
            ctx.workspaces.close(ctx.run_id)
    return doc
