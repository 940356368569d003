"""Evaluate the head of ``pending``: static checks, then a quick screen, then the full verdict.

Each stage is its own node, so a resumed run never repeats a finished measurement; a stage
that rejects a candidate pops it from ``pending`` and records why.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from langgraph.runtime import Runtime

from perfagent.agent.context import RunContext
from perfagent.agent.nodes._common import (
    Update,
    after,
    base_tree,
    prepared,
    reject,
    task_of,
    timed,
)
from perfagent.agent.state import AgentState
from perfagent.agent.types import Rejection
from perfagent.tools.edit.paths import protected_patterns
from perfagent.tools.errors import BaselineError, PerfagentError
from perfagent.tools.guard import check_candidate
from perfagent.tools.lab import MeasureOptions, MeasureReport, measure
from perfagent.tools.lab.report import TestResult
from perfagent.tools.progress import StageStarted
from perfagent.tools.taskspec import Task


def _workload_sources(task: Task, tree: Any) -> list[str]:
    texts = []
    for spec in task.workloads():
        if spec.file:
            try:
                texts.append(task.resolve_file(spec.file, tree, "workload.file").read_text())
            except (PerfagentError, OSError):
                continue
    return texts


@timed("check")
def check(state: AgentState, *, runtime: Runtime[RunContext]) -> Update:
    """Does it apply, and does the guard allow it? (No measurement yet.)"""
    ctx = runtime.context
    cid = state["pending"][0]
    record = state["candidates"][cid]
    task = task_of(state)
    ctx.progress(
        StageStarted(
            "check",
            f"{cid}: checking {record['qualname']} ({record.get('rule_id') or record['source']})",
        )
    )
    tree = base_tree(state, ctx)
    result = check_candidate(
        tree,
        record["diff"],
        protected=protected_patterns(task),
        workload_sources=_workload_sources(task, tree),
    )
    if result.rejected:
        return {
            **reject(cid, "static", "guard", result.rejected[0], flags=result.flags),
            "pending": after(state),
            "evaluated": cid,
        }
    # guard_flags stay with the candidate; a measurement's flags replace the previous one's.
    record_flags = {"flags": result.flags, "guard_flags": result.flags}
    return {"candidates": {cid: {"stage": "static", **record_flags}}, "evaluated": cid}


def base_key(state: AgentState) -> str:
    """Names the tree every measurement of this round calls base: the kept edits."""
    return hashlib.sha256((state.get("baseline_patch") or "").encode()).hexdigest()[:16]


def _results(records: Any) -> list[TestResult]:
    return [TestResult(**record) for record in records or []]


def known_tests(state: AgentState, cid: str, kind: str) -> dict[str, list[TestResult]]:
    """Test results already measured on the exact trees this session will build, so the lab
    need not run them again: base's from the round's earlier sessions (or the baseline
    check, before any edit is kept), and for a verdict the candidate's from its own screen.
    The final measurement never reuses anything."""
    key = base_key(state)
    known: dict[str, list[TestResult]] = {}
    for entry in reversed(state.get("measurements", [])):
        if entry.get("base_key") != key:
            continue
        tests = entry["report"].get("tests") or {}
        if "base" not in known and tests.get("base"):
            known["base"] = _results(tests["base"])
        if kind == "verdict" and entry.get("candidate") == cid and entry["kind"] == "screen":
            known["candidate"] = _results(tests.get("candidate"))
    baseline = state.get("baseline") or {}
    if "base" not in known and not state.get("baseline_patch") and baseline.get("tests"):
        known["base"] = _results(baseline["tests"])
    return known


def _measure(state: AgentState, ctx: RunContext, cid: str, kind: str) -> MeasureReport:
    task = task_of(state)
    options = MeasureOptions(
        candidate_patch=state["candidates"][cid]["diff"],
        base_patch=state.get("baseline_patch") or None,
        session=ctx.screen if kind == "screen" else ctx.verdict,
        hidden=kind != "screen",
        workdir_parent=ctx.workdir_parent,
        known_tests=known_tests(state, cid, kind),
    )
    return measure(task, options, progress=ctx.progress, prepared=prepared(state, ctx))


def _failed_test(report: MeasureReport) -> str:
    failing = [t for t in report.tests.get("candidate", []) if not t.passed]
    return f"tests fail: {failing[0].command}: {failing[0].summary}" if failing else "tests fail"


def _figure(report: MeasureReport) -> str:
    lo, hi = report.ci
    return f"{report.speedup:.3f}× [{lo:.3f}, {hi:.3f}]"


def _evaluate(state: AgentState, ctx: RunContext, kind: Literal["screen", "verdict"]) -> Update:
    cid = state["pending"][0]
    ctx.progress(
        StageStarted(
            "screen" if kind == "screen" else "verdict",
            f"{cid}: {'quick screen' if kind == 'screen' else 'full verdict'}",
        )
    )
    try:
        report = _measure(state, ctx, cid, kind)
    except BaselineError:
        raise  # base itself broke: the run cannot judge anything
    except PerfagentError as exc:  # the candidate does not apply, crashes, or imports oddly
        return {
            **reject(cid, kind, "unusable", str(exc)),
            "pending": after(state),
            "evaluated": cid,
        }
    update: Update = {
        "evaluated": cid,
        "measurements": [
            {
                "kind": kind,
                "candidate": cid,
                "round": state.get("round", 1),
                "base_key": base_key(state),
                "report": report.to_json(),
            }
        ],
        "_timing": {"measure_s": report.elapsed_s},
    }
    facts = report.verdict_facts()
    flags = list(state["candidates"][cid].get("guard_flags", [])) + report.flags
    rejection = _rejection(report, kind)
    if rejection is not None:
        why, reason = rejection
        update.update(reject(cid, kind, why, reason, flags=flags, **facts))
        update["pending"] = after(state)
    elif kind == "screen":
        update["candidates"] = {cid: {"stage": "screen", "flags": flags, **facts}}
    else:
        update["candidates"] = {
            cid: {"stage": "verdict", "outcome": "faster", "flags": flags, **facts}
        }
        update["pending"] = after(state)
    return update


def _rejection(report: MeasureReport, kind: str) -> tuple[Rejection, str] | None:
    if report.tests_passed is False:
        return "tests", _failed_test(report)
    if report.equivalent is False:
        detail = next(
            (
                v.equivalence_detail
                for w in report.workloads
                for v in w.variants.values()
                if v.equivalent is False
            ),
            "",
        )
        return "outputs", f"outputs differ from base: {detail}".rstrip(": ")
    if kind == "screen":
        # Few runs: reject only clear losers; the full verdict judges the rest.
        if report.verdict in ("slower", "same") or report.ci[1] < 1.0:
            return "speed", f"screen: {report.verdict} {_figure(report)}"
        return None
    hidden_slower = [
        w.name for w in report.workloads if w.hidden and w.variants["candidate"].verdict == "slower"
    ]
    if hidden_slower:
        return "speed", (
            f"slower on hidden workload {hidden_slower[0]} (faster only where it was shown)"
        )
    if report.verdict != "faster":
        return "speed", f"not faster: {report.verdict} {_figure(report)}"
    return None


@timed("screen")
def screen(state: AgentState, *, runtime: Runtime[RunContext]) -> Update:
    return _evaluate(state, runtime.context, "screen")


@timed("verdict")
def verdict(state: AgentState, *, runtime: Runtime[RunContext]) -> Update:
    return _evaluate(state, runtime.context, "verdict")
