"""The trajectory: one versioned JSON document per task run, rebuilt from state after every
step (format: trajectories/README.md). Written atomically, so a kill never leaves half a file."""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.metadata
import json
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from perfagent.agent.context import RunContext
from perfagent.agent.state import AgentState
from perfagent.tools.errors import PerfagentError
from perfagent.tools.lab.results import machine_facts
from perfagent.tools.runner import isolation_facts
from perfagent.tools.taskspec import load_task

FORMAT = "perfagent-trajectory"
VERSION = 1
_PACKAGES = ("perfagent", "langgraph", "openai", "anthropic", "libcst", "py-spy")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {"python": sys.version.split()[0]}
    for name in _PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def trajectory_path(ctx: RunContext, state: AgentState) -> Path:
    task_id = Path(state.get("task_file", "task")).stem
    # The trajectory of a run whose task file is bad is still written.
    with contextlib.suppress(PerfagentError, KeyError):
        task_id = load_task(state["task_file"]).id
    return ctx.run_dir / f"{task_id}.traj.json"


_VERDICT_KEYS = (
    *("speedup", "ci", "verdict", "equivalent", "tests_passed"),
    *("expert_speedup", "expert_ci", "gso_opt"),
    "overall",  # every workload: {workloads, verdict, geomean_speedup, worst: {workload, ...}}
)


def verdict_facts(final: dict[str, Any]) -> dict[str, Any]:
    """The final result's verdict fields, as ``optimize --json`` and batch rows report them."""
    return {key: final.get(key) for key in _VERDICT_KEYS}


def _rounds(state: AgentState) -> list[dict[str, Any]]:
    rounds: dict[int, dict[str, Any]] = {}
    for proposal in state.get("proposals", []):
        rounds[proposal["round"]] = {
            "round": proposal["round"],
            "proposer": proposal["proposer"],
            "candidates": proposal["candidates"],
            "accepted": None,
            "proposer_errors": proposal["errors"],
            "tool_runs": proposal.get("tool_runs", []),
        }
    for cid in state.get("accepted", []):
        record = state["candidates"][cid]
        if record["round"] in rounds:
            rounds[record["round"]]["accepted"] = cid
    for number, entry in rounds.items():
        entry["timing"] = round_timing(state, number)
    return [rounds[n] for n in sorted(rounds)]


def round_timing(state: AgentState, number: int) -> dict[str, float]:
    """Where a round's wall time went (see ``timing_split``)."""
    return timing_split(
        [t for t in state.get("timings", []) if t.get("round") == number],
        [m for m in state.get("measurements", []) if m.get("round") == number],
    )


def timing_split(
    timings: Iterable[Mapping[str, Any]], measurements: Iterable[Mapping[str, Any]]
) -> dict[str, float]:
    """Wall time split into the lab's sessions, profiler runs, the model and ``overhead_s``:
    what is none of them. ``overhead_s`` is itself split: ``lab_other_s`` (the lab's work
    outside sessions: tests, builds, reference runs), ``prepare_s`` (clone, venv, setup,
    trees) and ``agent_s`` (the rest: proposing, checks, git, the graph itself)."""
    entries = list(timings)
    total = {
        key: sum(float(t.get(key, 0.0)) for t in entries)
        for key in ("wall_s", "measure_s", "profile_s", "model_s", "prepare_s")
    }
    sessions = sum(float(w["elapsed_s"]) for m in measurements for w in m["report"]["workloads"])
    total["session_s"] = sessions
    total["overhead_s"] = total["wall_s"] - sessions - total["profile_s"] - total["model_s"]
    total["lab_other_s"] = total["measure_s"] - sessions
    total["agent_s"] = total["overhead_s"] - total["lab_other_s"] - total["prepare_s"]
    return total


def build_trajectory(
    state: AgentState, ctx: RunContext, *, status: str, error: str | None = None
) -> dict[str, Any]:
    calls = state.get("calls", [])
    return {
        "format": FORMAT,
        "version": VERSION,
        "run_id": ctx.run_id,
        "task_id": trajectory_path(ctx, state).name.removesuffix(".traj.json"),
        "task_file": str(Path(state.get("task_file", ctx.task_file)).resolve()),
        "status": status,
        "created": _created(ctx),
        "updated": _now(),
        "config": ctx.settings_json(),
        "versions": versions(),
        "machine": machine_facts(),
        "isolation": asdict(isolation_facts()),
        "baseline": state.get("baseline"),
        "profiles": state.get("profiles", []),
        "rounds": _rounds(state),
        "calls": calls,
        "candidates": sorted(
            state.get("candidates", {}).values(), key=lambda c: (c["round"], c["id"])
        ),
        "measurements": state.get("measurements", []),
        "usage": {
            "calls": len(calls),
            "input_tokens": sum(int(c.get("input_tokens") or 0) for c in calls),
            "output_tokens": sum(int(c.get("output_tokens") or 0) for c in calls),
            "cost_usd": sum(float(c.get("cost_usd") or 0.0) for c in calls),
            # Calls of a model with no known price: their cost is not in cost_usd.
            "unpriced_calls": sum(1 for c in calls if c.get("cost_usd") is None),
        },
        "timings": state.get("timings", []),
        "final": state.get("final"),
        "stop_reason": state.get("stop_reason"),
        "error": error or state.get("error"),
    }


def _created(ctx: RunContext) -> str:
    marker = ctx.run_dir / "settings.json"
    if marker.exists():
        stamp = dt.datetime.fromtimestamp(marker.stat().st_mtime, dt.UTC)
        return stamp.isoformat(timespec="seconds")
    return _now()


def write_trajectory(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps(doc, indent=1, default=str), encoding="utf-8")
    os.replace(scratch, path)
