"""Rich tables for humans; the JSON output carries the same facts."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from perfagent.tools.bench.calibrate import CalibrationResult
from perfagent.tools.lab import MeasureReport
from perfagent.tools.profile import Profile

_STYLE = {"faster": "bold green", "slower": "bold red", "same": "yellow", "inconclusive": "magenta"}


def _time(value: float, metric: str) -> str:
    if metric == "instructions":
        return f"{value / 1e6:,.1f} M instr"
    return f"{value * 1000:,.2f} ms" if value < 10 else f"{value:,.2f} s"


def render_measure(console: Console, report: MeasureReport) -> None:
    table = Table(title=f"perfagent measure — {report.task} ({report.metric})")
    for column in (
        "workload",
        "variant",
        "median",
        "speedup",
        "95% CI",
        "verdict",
        "runs",
        "equivalent",
        "peak MiB",
    ):
        table.add_column(
            column, justify="right" if column not in ("workload", "variant", "verdict") else "left"
        )
    for w in report.workloads:
        label = escape(f"{w.name}{' (hidden)' if w.hidden else ''}")
        table.add_row(
            label,
            "base",
            _time(w.base_median, report.metric),
            "1.000×",
            "",
            "",
            str(w.base_runs),
            "",
            f"{w.base_max_rss_kb / 1024:.0f}",
        )
        for name, v in w.variants.items():
            style = _STYLE.get(v.verdict, "")
            table.add_row(
                "",
                name,
                _time(v.median, report.metric),
                f"{v.speedup:.3f}×",
                f"[{v.ci[0]:.3f}, {v.ci[1]:.3f}]",
                f"[{style}]{v.verdict}[/]",
                str(v.runs),
                {True: "yes", False: "NO", None: "unknown"}[v.equivalent],
                f"{v.max_rss_kb / 1024:.0f}",
            )
    console.print(table)
    style = _STYLE.get(report.verdict, "")
    console.print(
        f"[{style}]{report.subject}: {report.verdict}[/] — {report.speedup:.3f}× "
        f"(95 % CI {report.ci[0]:.3f}–{report.ci[1]:.3f}), {report.runs} runs; "
        f"overall {report.overall['verdict']} "
        f"(geomean {report.overall['geomean_speedup']:.3f}×)"
    )
    for variant, results in report.tests.items():
        if results:
            passed = sum(r.passed for r in results)
            console.print(f"tests on {variant}: {passed}/{len(results)} commands pass")
    if report.gso is not None:
        console.print(
            f"GSO criterion: gm speedup {report.gso['gm_speedup']:.3f} (≥ 1.2), "
            f"expert share {report.gso['hm_expert_share']:.3f} (> 0.95) → "
            f"opt = {report.gso_opt}"
        )
    for flag in report.flags:
        console.print(f"[bold yellow]flag:[/] {escape(flag)}")
    console.print(f"[dim]{report.elapsed_s:.0f} s[/]")


def render_calibration(console: Console, result: CalibrationResult) -> None:
    table = Table(title="perfagent calibrate")
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [
        ("trials (A/A and A/B each)", str(result.trials)),
        (
            "false-accept rate (A/A called faster)",
            f"{result.false_accept_rate:.1%} (95 % bound {result.false_accept_upper95:.1%})",
        ),
        ("A/A called faster or slower", f"{result.false_claim_rate:.1%}"),
        (
            f"power at a {result.effect:.0%} effect",
            f"{result.power:.1%} (95 % bound {result.power_lower95:.1%})",
        ),
        ("A/A verdicts", str(result.aa_verdicts)),
        ("A/B verdicts", str(result.ab_verdicts)),
        ("median runs per variant per verdict", f"{result.median_runs:.0f}"),
        ("median seconds per verdict", f"{result.median_seconds:.1f}"),
        ("noise (robust SD of log time)", f"{result.noise_sigma:.2%}"),
        ("smallest effect verifiable in a minute", f"{result.min_detectable_effect:.1%}"),
        ("minimum effect of interest", f"{result.min_effect:.0%}"),
    ]
    for row in rows:
        table.add_row(*row)
    console.print(table)


def render_profile(console: Console, profile: Profile, *, top: int = 15) -> None:
    table = Table(
        title=f"perfagent profile — {profile.workload} ({profile.backend}, "
        f"{profile.total_samples} samples)"
    )
    numeric = ("#", "savable", "inclusive", "self")
    columns = (*numeric, "function", "file:lines", "lines (savable)")
    for column in columns:
        table.add_column(column, justify="right" if column in numeric else "left")
    for rank, spot in enumerate(profile.hotspots[:top], start=1):
        per_line = spot.savable_lines or spot.hot_lines
        hot = ", ".join(f"L{line} {share:.0%}" for line, share in per_line[:3])
        table.add_row(
            "—" if spot.passthrough else str(rank),
            "pass-through" if spot.passthrough else f"{spot.savable:.1%}",
            f"{spot.inclusive:.1%}",
            f"{spot.self:.1%}",
            escape(spot.qualname),
            escape(f"{spot.file}:{spot.lines[0]}-{spot.lines[1]}"),
            hot,
        )
    console.print(table)
    shares = ", ".join(
        f"{kind} {share:.0%}"
        for kind, share in sorted(profile.outside_share.items(), key=lambda kv: -kv[1])
    )
    console.print(f"time by where the leaf frame is: {shares}")
    if profile.native_hotspots:
        native = ", ".join(
            f"{escape(h.qualname)} {h.inclusive:.0%}/{h.self:.0%}"
            for h in profile.native_hotspots[:8]
        )
        console.print(f"native (perf, whole process; inclusive/self): {native}")
    for warning in profile.warnings:
        console.print(f"[yellow]note:[/] {escape(warning)}")


def make_console(*, stderr: bool = False) -> Console:
    """A console that does not squeeze tables to 80 columns when piped."""
    console = Console(stderr=stderr)
    if not console.is_terminal:
        console.width = max(console.width, 140)
    return console


def _ci(ci: Any) -> str:
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]" if isinstance(ci, list | tuple) and len(ci) == 2 else ""


def _speedup_rows(table: Table, result: dict[str, Any]) -> None:
    """The headline: over every workload (geometric mean and the worst) when there are
    several, else the one workload's speedup and CI."""
    overall = result.get("overall") or {}
    rows = overall.get("per_workload") or []
    if len(rows) < 2:
        verdict = result.get("verdict") or ""
        table.add_row(
            "speedup",
            f"[{_STYLE.get(verdict, '')}]{result['speedup']:.3f}× {_ci(result['ci'])} "
            f"{escape(verdict)}[/]",
        )
        return
    verdict, worst = overall["verdict"], overall["worst"]
    table.add_row(
        "speedup",
        f"[{_STYLE.get(verdict, '')}]{overall['geomean_speedup']:.3f}× geometric mean of "
        f"{len(rows)} workloads, {escape(verdict)}[/]",
    )
    table.add_row(
        "worst workload",
        f"{escape(worst['workload'])}: {worst['speedup']:.3f}× {_ci(worst['ci'])} "
        f"[{_STYLE.get(worst['verdict'], '')}]{escape(worst['verdict'])}[/]",
    )


def _workload_table(result: dict[str, Any]) -> Table | None:
    rows = (result.get("overall") or {}).get("per_workload") or []
    if len(rows) < 2:
        return None
    table = Table(title="per workload", title_justify="left")
    with_expert = any(row.get("expert_speedup") is not None for row in rows)
    table.add_column("workload")
    table.add_column("speedup", justify="right")
    table.add_column("95% CI", justify="right")
    table.add_column("verdict")
    if with_expert:
        table.add_column("expert", justify="right")
    for row in rows:
        cells = [
            escape(f"{row['workload']}{' (hidden)' if row.get('hidden') else ''}"),
            f"{row['speedup']:.3f}×",
            _ci(row["ci"]),
            f"[{_STYLE.get(row['verdict'], '')}]{escape(row['verdict'])}[/]",
        ]
        if with_expert:
            expert = row.get("expert_speedup")
            cells.append(f"{expert:.3f}×" if expert is not None else "")
        table.add_row(*cells)
    return table


def render_run(console: Console, result: dict[str, Any]) -> None:
    """The end of ``perfagent optimize``: the verdict over every workload, one row per
    workload under it, then where the files are."""
    table = Table(title=f"perfagent optimize — {result['task']} ({result['run_id']})")
    table.show_header = False  # two columns of label and value: a header row would be empty
    table.add_column("", style="bold")
    table.add_column("")
    if result.get("speedup") is not None:
        _speedup_rows(table, result)
        table.add_row("equivalent", str(result.get("equivalent")))
        table.add_row("tests passed", str(result.get("tests_passed")))
    else:
        table.add_row("speedup", "no edit was kept")
    if result.get("expert_speedup") is not None:
        experts = [
            r.get("expert_speedup") for r in (result.get("overall") or {}).get("per_workload") or []
        ]
        if len(experts) > 1 and None not in experts:
            mean = math.exp(sum(math.log(x) for x in experts) / len(experts))
            table.add_row("expert", f"{mean:.3f}× geometric mean of {len(experts)} workloads")
        else:
            table.add_row("expert", f"{result['expert_speedup']:.3f}× {_ci(result['expert_ci'])}")
        if result.get("gso_opt") is not None:
            # A benchmark's bar, not this run's verdict: plain, whichever way it went.
            table.add_row("GSO opt", "yes" if result["gso_opt"] else "no")
    for flag in result.get("flags") or []:
        table.add_row("[bold red]flag[/]", escape(flag))
    table.add_row("stopped", escape(str(result.get("stop_reason"))))
    usage = result.get("usage") or {}
    if usage.get("calls"):
        table.add_row(
            "model",
            f"{usage['calls']} calls, {usage['input_tokens']}+{usage['output_tokens']} tokens, "
            f"${usage['cost_usd']:.4f}",
        )
    console.print(table)
    per_workload = _workload_table(result)
    if per_workload is not None:
        console.print(per_workload)
    files = Table(show_header=False, box=None, padding=(0, 1))
    files.add_column("", style="bold")
    files.add_column("")
    for key in ("patch", "report", "trajectory"):
        files.add_row(key, escape(result[key]))
    if result.get("applied"):
        files.add_row("applied", escape(result["applied"]))
    console.print(files)
