"""What a report shows, as plain tables and strings; markdown.py and html.py only format it.

Every reader here tolerates ``null`` (a run that stopped early, no expert, nothing accepted,
a failed run) and returns text that is not yet escaped: escaping is the renderer's job.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from perfagent.agent.report.cells import (
    DASH,
    Cell,
    Table,
    dig,
    interval,
    median,
    seconds,
    share,
    speedup,
    speedup_ci,
    text,
    verdict,
    yes_no,
)
from perfagent.tools.profile import Frame, Stack, collapsed

TOP_HOTSPOTS = 15
_TIMINGS = ("wall_s", "measure_s", "profile_s", "model_s", "overhead_s")  # a round's columns


def final_report(traj: Mapping[str, Any]) -> dict[str, Any] | None:
    """The final MeasureReport, else the last session recorded as "final"."""
    report = dig(traj, "final", "report")
    if isinstance(report, dict):
        return report
    finals = [m for m in traj.get("measurements") or [] if dig(m, "kind") == "final"]
    last = dig(finals, -1, "report")
    return last if isinstance(last, dict) else None


def confidence_label(traj: Mapping[str, Any]) -> str:
    level = dig(final_report(traj), "config", "confidence")
    return f"{level:.0%} CI" if isinstance(level, float) else "95% CI"


def flags(traj: Mapping[str, Any]) -> list[str]:
    """Every guard flag of the run, the final ones first, each once."""
    seen: dict[str, None] = {}
    for flag in (dig(traj, "final", "flags") or []) + (dig(final_report(traj), "flags") or []):
        seen.setdefault(text(flag))
    for candidate in traj.get("candidates") or []:
        for flag in candidate.get("flags") or []:
            seen.setdefault(f"{candidate.get('id')}: {text(flag)}")
    return list(seen)


def measurement_table(report: Mapping[str, Any]) -> Table:
    """Base, expert and candidate on every workload (hidden ones included)."""
    shares = {
        dig(row, "name"): dig(row, "expert_share")
        for row in dig(report, "gso", "per_workload") or []
    }
    table = Table(
        [
            "workload",
            "variant",
            "median",
            "speedup",
            "CI",
            "verdict",
            "runs",
            "equivalent",
            "expert share",
        ],
        numeric=frozenset({"median", "speedup", "CI", "runs", "expert share"}),
    )
    metric = report.get("metric")
    for w in report.get("workloads") or []:
        name = f"{w.get('name')}{' (hidden)' if w.get('hidden') else ''}"
        table.add(
            Cell(name, code=True), "base", median(w.get("base_median"), metric), speedup(1.0),
            "", "", text(w.get("base_runs")), "", "",
        )  # fmt: skip
        for variant, v in (w.get("variants") or {}).items():
            expert_share = shares.get(w.get("name")) if variant == "candidate" else None
            table.add(
                "", variant, median(v.get("median"), metric), speedup(v.get("speedup")),
                interval(v.get("ci")), verdict(v.get("verdict")), text(v.get("runs")),
                yes_no(v.get("equivalent")), share(expert_share) if expert_share else "",
            )  # fmt: skip
    return table


def measurement_notes(report: Mapping[str, Any]) -> list[str]:
    notes = []
    overall = report.get("overall") or {}
    if overall:
        notes.append(
            f"{report.get('subject')} over {overall.get('workloads')} workloads: "
            f"{overall.get('verdict')} (geometric mean {speedup(overall.get('geomean_speedup'))})"
        )
    gso = report.get("gso")
    if isinstance(gso, dict):
        notes.append(
            f"GSO criterion: geometric-mean speedup {speedup(gso.get('gm_speedup'))} (≥ 1.2), "
            f"harmonic-mean expert share {share(gso.get('hm_expert_share'))} (> 95%) → "
            f"opt = {text(report.get('gso_opt'))}"
        )
    for variant, results in (report.get("tests") or {}).items():
        if results:
            passed = sum(bool(r.get("passed")) for r in results)
            reused = sum(bool(r.get("reused")) for r in results)
            again = f" ({reused} known from an earlier session, not run again)" if reused else ""
            notes.append(f"tests on {variant}: {passed}/{len(results)} commands pass{again}")
    notes.append(f"{report.get('runs')} runs, {seconds(report.get('elapsed_s'))} of measuring")
    return notes


def profile_pair(traj: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(label, profile entry) for the first and, when there is one, the last profile."""
    entries = [p for p in traj.get("profiles") or [] if isinstance(dig(p, "profile"), dict)]
    picked = [("before", entries[0])] if entries else []
    if len(entries) > 1:
        picked.append(("after", entries[-1]))
    out = []
    for label, entry in picked:
        rnd, sha = entry.get("round"), entry.get("patch_sha")
        where = "the final patch" if rnd == "final" else f"round {rnd}"
        if sha:
            where += f", patch {str(sha)[:12]}"
        profile = entry["profile"]
        out.append(
            (
                f"{label}: {where} — {profile.get('workload')} "
                f"({profile.get('backend')}, {profile.get('total_samples')} samples)",
                profile,
            )
        )
    return out


def folded(profile: Mapping[str, Any]) -> list[str]:
    """The profile's folded stacks: its ``collapsed`` key, else folded from raw ``stacks``."""
    lines = profile.get("collapsed")
    if isinstance(lines, list):
        return [str(line) for line in lines]
    stacks = [
        Stack(tuple(Frame(f["name"], f["file"], f["line"]) for f in s["frames"]), s["count"])
        for s in profile.get("stacks") or []
    ]
    return collapsed(stacks)


def no_hotspots_reason(profile: Mapping[str, Any]) -> str | None:
    """Why a profile has no hotspot rows (said instead of an empty table), or None."""
    if profile.get("hotspots"):
        return None
    if not profile.get("total_samples"):
        return (
            "No samples fell inside the timed calls: they ran too briefly for the sampler "
            "(the measurements above are the evidence)."
        )
    return "No function of the repository was on the sampled stacks."


def hotspot_table(profile: Mapping[str, Any], top: int = TOP_HOTSPOTS) -> Table:
    table = Table(
        ["#", "inclusive", "self", "function", "file:lines", "hottest lines"],
        numeric=frozenset({"#", "inclusive", "self"}),
    )
    for rank, spot in enumerate((profile.get("hotspots") or [])[:top], start=1):
        lines = spot.get("lines") or [0, 0]
        hot = ", ".join(f"L{line} {share(s)}" for line, s in (spot.get("hot_lines") or [])[:3])
        table.add(
            str(rank),
            share(spot.get("inclusive")),
            share(spot.get("self")),
            Cell(text(spot.get("qualname")), code=True),
            Cell(f"{spot.get('file')}:{lines[0]}-{lines[-1]}", code=True),
            hot,
        )
    return table


def candidate_table(traj: Mapping[str, Any]) -> Table:
    proposer = text(dig(traj, "config", "proposer"))
    table = Table(
        [
            "id",
            "round",
            "source",
            "rule or model",
            "function",
            "stage",
            "outcome",
            "reason",
            "speedup [CI]",
            "flags",
        ],
        numeric=frozenset({"round", "speedup [CI]"}),
    )
    for c in traj.get("candidates") or []:
        source = text(c.get("source"))
        made_by = c.get("rule_id") or (proposer if source == "model" else DASH)
        outcome = text(c.get("outcome"))
        tone = {"accepted": "good", "rejected": "bad", "superseded": "warn"}.get(outcome, "")
        table.add(
            Cell(text(c.get("id")), code=True), text(c.get("round")), source,
            Cell(text(made_by), code=True), Cell(text(c.get("qualname")), code=True),
            text(c.get("stage")), Cell(outcome, tone=tone), text(c.get("reason")),
            Cell(speedup_ci(c.get("speedup"), c.get("ci")), tone=verdict(c.get("verdict")).tone),
            Cell("; ".join(text(f) for f in c.get("flags") or []), tone="warn"),
        )  # fmt: skip
    return table


def rounds_table(traj: Mapping[str, Any]) -> Table:
    table = Table(
        [
            "round",
            "candidates",
            "accepted",
            "proposer errors",
            "wall",
            "measure",
            "profile",
            "model",
            "other",
        ],
        numeric=frozenset({"round", "candidates", "wall", "measure", "profile", "model", "other"}),
    )
    for r in traj.get("rounds") or []:
        timing = r.get("timing") or {}
        table.add(
            text(r.get("round")), str(len(r.get("candidates") or [])),
            Cell(text(r.get("accepted")), code=r.get("accepted") is not None),
            "; ".join(text(e) for e in r.get("proposer_errors") or []) or DASH,
            *(seconds(timing.get(k)) for k in _TIMINGS),
        )  # fmt: skip
    return table


def usage(traj: Mapping[str, Any]) -> tuple[list[tuple[str, str]], Table] | None:
    """Totals and a per-model table, or None when the run made no model call."""
    total = traj.get("usage") or {}
    calls = traj.get("calls") or []
    if not total.get("calls") and not calls:
        return None
    cost = total.get("cost_usd")
    totals = [
        ("calls", text(total.get("calls", len(calls)))),
        ("input tokens", f"{total.get('input_tokens') or 0:,}"),
        ("output tokens", f"{total.get('output_tokens') or 0:,}"),
        ("cost", f"${cost:.4f}" if isinstance(cost, int | float) else "unknown"),
    ]
    per: dict[str, list[dict[str, Any]]] = {}
    for call in calls:
        per.setdefault(f"{call.get('provider')}:{call.get('model')}", []).append(call)
    table = Table(
        ["model", "calls", "errors", "input tokens", "output tokens", "cost", "latency"],
        numeric=frozenset({"calls", "errors", "input tokens", "output tokens", "cost", "latency"}),
    )
    for model, group in sorted(per.items()):
        costs = [c.get("cost_usd") for c in group]
        known = [x for x in costs if isinstance(x, int | float)]
        table.add(
            Cell(model, code=True), str(len(group)), str(sum(1 for c in group if c.get("error"))),
            f"{sum(c.get('input_tokens') or 0 for c in group):,}",
            f"{sum(c.get('output_tokens') or 0 for c in group):,}",
            f"${sum(known):.4f}" + (" + unknown" if len(known) < len(costs) else ""),
            seconds(sum(c.get("latency_s") or 0.0 for c in group)),
        )  # fmt: skip
    return totals, table


def settings(traj: Mapping[str, Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    """(section, [(key, value)]) for config, versions and machine, nested keys dotted."""

    def flat(data: Any, prefix: str = "") -> list[tuple[str, str]]:
        if isinstance(data, Mapping) and data:
            return [kv for k, v in data.items() for kv in flat(v, f"{prefix}{k}.")]
        if isinstance(data, list):
            return [(prefix.rstrip("."), ", ".join(text(x) for x in data) or DASH)]
        return [(prefix.rstrip("."), text(data))] if prefix else []

    sections = [(name, flat(traj.get(name))) for name in ("config", "versions", "machine")]
    return [(name, rows) for name, rows in sections if rows]


def replay_command(traj: Mapping[str, Any], path: str | None) -> str:
    where = path or f"trajectories/{traj.get('run_id')}/{traj.get('task_id')}.traj.json"
    return f"perfagent replay {shlex.quote(where)}"
