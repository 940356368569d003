"""The verdict table of ``perfagent measure`` as GitHub markdown (job summary, PR comment)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from perfagent.tools.lab import MeasureReport

_MARK = {"faster": "🟢", "slower": "🔴", "same": "⚪", "inconclusive": "🟡"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def verdict_markdown(report: MeasureReport, failures: list[str], fail_on: str | None) -> str:
    """A heading, one row per workload and variant, and the gate's outcome."""
    lines = [
        f"### perfagent: {report.subject} is {report.verdict} "
        f"({report.speedup:.3f}×, 95% CI {report.ci[0]:.3f}–{report.ci[1]:.3f})",
        "",
        "| workload | variant | speedup | 95% CI | verdict | runs | same output |",
        "|---|---|---:|---:|---|---:|---|",
    ]
    for w in report.workloads:
        name = _cell(f"{w.name}{' (hidden)' if w.hidden else ''}")
        for variant, v in w.variants.items():
            same = {True: "yes", False: "**no**", None: "unknown"}[v.equivalent]
            lines.append(
                f"| {name} | {variant} | {v.speedup:.3f}× | {v.ci[0]:.3f}–{v.ci[1]:.3f} "
                f"| {_MARK.get(v.verdict, '')} {v.verdict} | {v.runs} | {same} |"
            )
    lines.append("")
    overall = report.overall
    if overall:
        lines.append(
            f"Over {overall['workloads']} workload(s): {overall['verdict']}, geometric mean "
            f"{overall['geomean_speedup']:.3f}×."
        )
    lines.extend(f"- ⚠️ {_cell(flag)}" for flag in report.flags)
    if fail_on is not None:
        outcome = f"**failed** ({_cell('; '.join(failures))})" if failures else "passed"
        lines.append(f"\nGate `--fail-on {fail_on}`: {outcome}.")
    return "\n".join(lines) + "\n"
