"""Profile the current baseline (every round) and the final patch (once, for the report)."""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime

from perfagent.agent.context import RunContext
from perfagent.agent.nodes._common import Update, prepared, task_of, timed
from perfagent.agent.state import AgentState
from perfagent.tools.errors import MeasurementError
from perfagent.tools.profile import Hotspot, Profile, collapsed, profile_task


def profile_record(profile: Profile) -> dict[str, Any]:
    """The profile as JSON, stacks folded (what flame graphs and the report need)."""
    return {**profile.to_json(), "collapsed": collapsed(profile)}


def hotspots_of(record: dict[str, Any]) -> tuple[Hotspot, ...]:
    return tuple(Hotspot.from_json(spot) for spot in record.get("hotspots", []))


def _profile(state: AgentState, ctx: RunContext, label: str | int) -> Update:
    started = time.monotonic()
    ctx.progress(
        f"round {state.get('round', 1)}: profiling" if label != "final" else "profiling the result"
    )
    task = task_of(state)
    try:
        profile = profile_task(
            task,
            runs=ctx.profile_runs,
            patch=state.get("baseline_patch") or None,
            prepared=prepared(state, ctx),
        )
    except MeasurementError as exc:
        # Code that became too fast to sample is a result, not a failure: record an empty
        # profile with the reason; proposers then fall back to the task's hints.
        profile = Profile(
            backend="py-spy",
            workload=task.spec.workload.label,
            total_samples=0,
            rate_hz=0,
            duration_s=0.0,
            native=False,
            hotspots=[],
            external=[],
            outside_share={},
            warnings=[str(exc)],
        )
    return {
        "profiles": [{"round": label, "profile": profile_record(profile)}],
        "_timing": {"profile_s": time.monotonic() - started},
    }


@timed("profile")
def profile(state: AgentState, *, runtime: Runtime[RunContext]) -> Update:
    return _profile(state, runtime.context, state.get("round", 1))


@timed("profile_final")
def profile_final(state: AgentState, *, runtime: Runtime[RunContext]) -> Update:
    return _profile(state, runtime.context, "final")
