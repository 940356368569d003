"""The top of a report: the speedup over every workload (geometric mean) and the workload
that gained least, with one row per workload under them.

A task's first workload is the one the agent optimised against; the others (hidden ones
included) say whether the gain is general. Leading with the first alone hid both a larger
mean and a workload that gained less, so the headline is the geometric mean and the worst.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from perfagent.agent.report.cells import (
    DASH,
    Cell,
    Table,
    dig,
    share,
    speedup,
    speedup_ci,
    text,
    verdict,
    yes_no,
)
from perfagent.agent.report.facts import confidence_label, final_report
from perfagent.tools.bench.stats import geometric_mean


@dataclass(frozen=True)
class WorkloadSpeedup:
    name: str
    hidden: bool
    speedup: float
    ci: list[float] | None
    verdict: str | None
    expert_speedup: float | None
    expert_ci: list[float] | None

    @property
    def label(self) -> str:
        return f"{self.name}{' (hidden)' if self.hidden else ''}"


@dataclass(frozen=True)
class Overall:
    subject: str  # "candidate" (the kept edits) or "expert" (nothing was kept)
    workloads: list[WorkloadSpeedup]
    geomean: float
    verdict: str | None
    expert_geomean: float | None

    @property
    def worst(self) -> WorkloadSpeedup:
        return min(self.workloads, key=lambda w: w.speedup)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and value > 0 else None


def overall(traj: Mapping[str, Any]) -> Overall | None:
    """Every workload's speedup of the final measurement, or None before there is one."""
    report = final_report(traj)
    subject = dig(report, "subject")
    if report is None or subject not in ("candidate", "expert"):
        return None
    rows = []
    for w in report.get("workloads") or []:
        mine = dig(w, "variants", subject)
        value = _number(dig(mine, "speedup"))
        if value is None:
            continue
        rows.append(
            WorkloadSpeedup(
                name=text(w.get("name")),
                hidden=bool(w.get("hidden")),
                speedup=value,
                ci=dig(mine, "ci"),
                verdict=dig(mine, "verdict"),
                expert_speedup=_number(dig(w, "variants", "expert", "speedup")),
                expert_ci=dig(w, "variants", "expert", "ci"),
            )
        )
    if not rows:
        return None
    experts = [w.expert_speedup for w in rows if w.expert_speedup is not None]
    return Overall(
        subject=str(subject),
        workloads=rows,
        geomean=geometric_mean([w.speedup for w in rows]),
        verdict=dig(report, "overall", "verdict") or rows[0].verdict,
        expert_geomean=geometric_mean(experts) if len(experts) == len(rows) else None,
    )


def _speedup_cards(traj: Mapping[str, Any]) -> list[tuple[str, Cell]]:
    final = traj.get("final") or {}
    totals = overall(traj) if final.get("patch") else None
    if totals is None or totals.subject != "candidate":
        return [
            ("verdict", verdict(final.get("verdict"))),
            (
                f"speedup ({confidence_label(traj)})",
                Cell(
                    speedup_ci(final.get("speedup"), final.get("ci")),
                    tone=verdict(final.get("verdict")).tone,
                ),
            ),
        ]
    tone = verdict(totals.verdict).tone
    if len(totals.workloads) == 1:
        only = totals.workloads[0]
        return [
            ("verdict", verdict(totals.verdict)),
            (
                f"speedup ({confidence_label(traj)})",
                Cell(speedup_ci(only.speedup, only.ci), tone=tone),
            ),
        ]
    worst = totals.worst
    return [
        (f"verdict ({len(totals.workloads)} workloads)", verdict(totals.verdict)),
        (
            f"speedup (geometric mean of {len(totals.workloads)} workloads)",
            Cell(speedup(totals.geomean), tone=tone),
        ),
        (
            "worst workload",
            Cell(
                f"{worst.label}: {speedup_ci(worst.speedup, worst.ci)}",
                tone=verdict(worst.verdict).tone,
            ),
        ),
    ]


def headline(traj: Mapping[str, Any]) -> list[tuple[str, Cell]]:
    final = traj.get("final") or {}
    accepted = final.get("accepted") or []
    status = str(traj.get("status") or "unknown")
    rows = [
        ("task", Cell(text(traj.get("task_id")), code=True)),
        ("status", Cell(status, tone={"failed": "bad", "running": "warn"}.get(status, ""))),
        *_speedup_cards(traj),
        ("equivalent outputs", yes_no(final.get("equivalent"))),
        ("tests pass", yes_no(final.get("tests_passed"))),
        ("stop reason", Cell(text(traj.get("stop_reason")))),
        ("accepted candidates", Cell(", ".join(map(str, accepted)) or "none", code=bool(accepted))),
        ("proposer", Cell(text(dig(traj, "config", "proposer")), code=True)),
    ]
    if final.get("expert_speedup") is not None:
        totals = overall(traj)
        if totals is not None and totals.expert_geomean is not None and len(totals.workloads) > 1:
            rows.append(("expert speedup (geometric mean)", Cell(speedup(totals.expert_geomean))))
        else:
            rows.append(
                (
                    "expert speedup",
                    Cell(speedup_ci(final.get("expert_speedup"), final.get("expert_ci"))),
                )
            )
    if final.get("gso_opt") is not None:
        # GSO's bar (≥ 1.2× and ≥ 95 % of the expert's gain) is a benchmark score, not a
        # verdict on this run: a verified, smaller speedup is still a success, so no colour.
        rows.append(("GSO opt", Cell("yes" if final.get("gso_opt") else "no")))
    return rows


def workload_table(traj: Mapping[str, Any]) -> Table | None:
    """One row per workload under the headline: the kept edits' speedup, and the expert's."""
    final = traj.get("final") or {}
    totals = overall(traj) if final.get("patch") else None
    if totals is None or totals.subject != "candidate":
        return None
    with_expert = any(w.expert_speedup is not None for w in totals.workloads)
    columns = ["workload", "speedup [CI]", "verdict"]
    if with_expert:
        columns += ["expert [CI]", "share of the expert's gain"]
    table = Table(columns, numeric=frozenset({"speedup [CI]", "expert [CI]"}) | {columns[-1]})
    for w in totals.workloads:
        cells: list[Cell | str] = [
            Cell(w.label, code=True),
            speedup_ci(w.speedup, w.ci),
            verdict(w.verdict),
        ]
        if with_expert:
            ratio = w.speedup / w.expert_speedup if w.expert_speedup else None
            cells += [speedup_ci(w.expert_speedup, w.expert_ci), share(ratio) if ratio else DASH]
        table.add(*cells)
    return table
