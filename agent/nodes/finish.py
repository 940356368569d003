"""The end of a run: measure the kept edits against the original base (and the expert), then
write patch, trajectory and reports."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from perfagent.agent.context import RunContext
from perfagent.agent.nodes._common import Update, prepared, task_of, timed
from perfagent.agent.report import write_reports
from perfagent.agent.state import AgentState
from perfagent.agent.trajectory import build_trajectory, trajectory_path, write_trajectory
from perfagent.tools.lab import MeasureOptions, measure
from perfagent.tools.progress import StageStarted


@timed("finalize")
def finalize(state: AgentState, *, runtime: Runtime[RunContext]) -> Update:
    ctx = runtime.context
    task = task_of(state)
    patch = state.get("baseline_patch", "")
    with_expert = ctx.expert and task.spec.expert is not None
    accepted = list(state.get("accepted", []))
    flags = sorted({f for cid in accepted for f in state["candidates"][cid].get("flags", [])})
    final: dict[str, Any] = {
        "patch": patch,
        "speedup": None,
        "ci": None,
        "verdict": None,
        "equivalent": None,
        "tests_passed": None,
        "expert_speedup": None,
        "expert_ci": None,
        "expert_verdict": None,
        "gso_opt": None,
        "overall": None,
        "flags": flags,
        "accepted": accepted,
        "report": None,
    }
    if not patch and not with_expert:
        return {"final": final}
    ctx.progress(
        StageStarted(
            "final",
            "final measurement against the original base"
            + (" and the expert" if with_expert else ""),
        )
    )
    options = MeasureOptions(
        candidate_patch=patch or None,
        expert=with_expert,
        session=ctx.verdict,
        workdir_parent=ctx.workdir_parent,
    )
    report = measure(task, options, progress=ctx.progress, prepared=prepared(state, ctx))
    data = report.to_json()
    if patch:
        final.update(
            **report.verdict_facts(),
            gso_opt=report.gso_opt,
            overall=report.overall,
            # The final measurement's flags replace the rounds' (the same checks, re-run).
            flags=sorted(
                {f for c in accepted for f in state["candidates"][c].get("guard_flags", [])}
                | set(report.flags)
            ),
        )
    final.update(
        expert_speedup=report.expert_speedup,
        expert_ci=list(report.expert_ci) if report.expert_ci else None,
        expert_verdict=report.expert_verdict,
        report=data,
    )
    return {
        "final": final,
        "measurements": [
            {"kind": "final", "candidate": None, "round": state.get("round", 1), "report": data}
        ],
        "_timing": {"measure_s": report.elapsed_s},
    }


@timed("write_outputs")
def write_outputs(state: AgentState, *, runtime: Runtime[RunContext]) -> Update:
    """patch.diff and the reports, from the trajectory the driver keeps up to date."""
    ctx = runtime.context
    doc = build_trajectory(state, ctx, status="done")
    path = trajectory_path(ctx, state)
    write_trajectory(path, doc)
    patch_file = ctx.run_dir / "patch.diff"
    patch_file.write_text((state.get("final") or {}).get("patch") or "", encoding="utf-8")
    _, html = write_reports(path, ctx.run_dir)
    ctx.progress(StageStarted("report", f"report: {html}"))
    return {}
