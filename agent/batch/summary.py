"""``summary.md`` and ``summary.html`` of a batch, from its results rows and metrics alone.

The page is self-contained: inline CSS and SVG, a Content-Security-Policy without scripts or
network loads, every value escaped.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from perfagent.agent.batch import adjusted, ceiling
from perfagent.agent.batch.metrics import BatchMetrics, expert_share, oracle_agreement
from perfagent.agent.proposers import EXPERT
from perfagent.agent.report.cells import (
    DASH,
    Cell,
    Table,
    interval,
    seconds,
    share,
    speedup,
    text,
    yes_no,
)
from perfagent.agent.report.cells import verdict as verdict_cell
from perfagent.agent.report.html import html_table
from perfagent.agent.report.markdown import md_code, md_table, md_text

_CSP = "default-src 'none'; style-src 'unsafe-inline'"
_CSS = """
:root { --good:#1a7f37; --bad:#cf222e; --warn:#9a6700; --muted:#57606a; --line:#d0d7de;
  --bg:#f6f8fa; }
body { font:14px/1.5 system-ui, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin:0;
  color:#1f2328; }
main { max-width:1240px; margin:0 auto; padding:24px; }
h1 { font-size:24px; margin:0 0 4px; } .sub, .note { color:var(--muted); }
h2 { font-size:18px; border-bottom:1px solid var(--line); padding-bottom:4px; margin-top:28px; }
.cards { display:flex; flex-wrap:wrap; gap:10px; margin:16px 0; }
.card { border:1px solid var(--line); border-radius:8px; padding:8px 14px; background:var(--bg); }
.card .k { font-size:11px; color:var(--muted); text-transform:uppercase; }
.card .v { font-size:20px; font-weight:600; }
table { border-collapse:collapse; width:100%; margin:8px 0; font-size:13px; }
th, td { border:1px solid var(--line); padding:3px 8px; text-align:left; vertical-align:top; }
th { background:var(--bg); } .num { text-align:right; font-variant-numeric:tabular-nums; }
code { font-family:ui-monospace, Menlo, Consolas, monospace; font-size:12px; }
.good { color:var(--good); font-weight:600; } .bad { color:var(--bad); font-weight:600; }
.warn { color:var(--warn); font-weight:600; }
svg { max-width:100%; height:auto; } li { margin:2px 0; }
"""

DEFINITIONS = [
    "Opt@K (GSO): share of tasks with at least one of their K runs meeting GSO's criterion "
    "(geometric-mean speedup ≥ 1.2, harmonic-mean share of the expert's speedup > 0.95, "
    "outputs equivalent, tests pass).",
    "Opt@k estimated: mean over tasks of 1 − C(n−c, k)/C(n, k) for c successes in n runs "
    "(the expectation of GSO's shuffled first-k estimate; Opt@1 = mean of c/n).",
    "Apply (SWE-Perf): runs whose non-empty patch applied and was measured / tasks; "
    "Correctness: of those, tests pass and outputs are equivalent / tasks; Performance: "
    "Σ δ over correct runs / tasks, δ = the largest runtime reduction still significant "
    "(one-sided Mann–Whitney p < 0.1, grid 0.001, IQR-filtered), mean over workloads; each is "
    "computed per run index and averaged.",
    "δ source 'ci': the report had no raw times, so δ = 1 − 1/(lower end of the 95 % CI), "
    "a conservative stand-in.",
    "Expert share: final speedup (1 when nothing was kept) / the expert's speedup measured in "
    "the same session, over done runs with an expert.",
    "Speedup Ratio (SWE-fficiency): a run's speedup (1 when it failed, is incorrect or kept "
    "nothing) / the expert's speedup; harmonic mean over tasks, per run index, averaged.",
]
ORACLE_DEFINITION = (
    "Published: the speedup the task set itself published (SWE-fficiency's speedup or Before / "
    "After Mean, SWE-Perf's duration changes, ...); ratio = measured / published; it agrees "
    "within ±15 % for published speedups up to 10×, ±50 % beyond."
)


def _num(value: Any, fmt: str = "{:.3f}") -> str:
    return fmt.format(value) if isinstance(value, int | float) else DASH


def _overhead(split: Mapping[str, float]) -> str:
    """The driver's own share of the runs' wall time, with where the rest went."""
    wall = split.get("wall_s") or 0.0
    if wall <= 0:
        return DASH
    parts = ", ".join(
        f"{name} {seconds(split.get(key))}"
        for name, key in (("measure", "session_s"), ("profile", "profile_s"), ("model", "model_s"))
    )
    inside = ", ".join(
        f"{name} {seconds(split.get(key))}"
        for name, key in (
            ("tests/builds", "lab_other_s"),
            ("workspace", "prepare_s"),
            ("agent", "agent_s"),
        )
    )
    return (
        f"{share(split.get('overhead_s', 0.0) / wall)} of {seconds(wall)} "
        f"(other: {inside}; {parts})"
    )


def cards(m: BatchMetrics) -> list[tuple[str, str]]:
    out = [
        (f"Opt@{m.k}", share(m.opt_at_k)),
        *[(f"Opt@{k} (est.)", share(v)) for k, v in m.opt_at.items() if k < m.k],
        ("Apply", share(m.swe_perf.apply)),
        ("Correctness", share(m.swe_perf.correctness)),
        ("Performance", share(m.swe_perf.performance)),
        ("Speedup Ratio", _num(m.speedup_ratio.value)),
        ("median expert share", share(m.median_expert_share)),
        ("cost / task", _num(m.mean_cost_per_task, "${:.4f}")),
        ("time / task", seconds(m.mean_wall_per_task)),
        ("time / run", seconds(m.mean_wall_per_run)),
        ("overhead (other / wall)", _overhead(m.time_split)),
        ("runs", f"{m.done} done, {m.failed} failed of {m.tasks * m.k}"),
    ]
    return out


TASK_COLUMNS = "task|runs|verdicts|best speedup|expert|GSO opt|cost / run|time / run"
RUN_COLUMNS = (
    "task|k|status|verdict|speedup [95% CI]|equivalent|tests|expert|share|GSO opt|δ|flags|"
    "cost|time|trajectory"
)


def task_table(m: BatchMetrics) -> Table:
    table = Table(
        TASK_COLUMNS.split("|"),
        numeric=frozenset({"runs", "best speedup", "expert", "cost / run", "time / run"}),
    )
    for t in m.per_task:
        table.add(
            Cell(t.task, code=True),
            f"{t.done}/{t.runs}",
            ", ".join(v or DASH for v in t.verdicts) or DASH,
            speedup(t.best_speedup),
            speedup(t.expert_speedup),
            f"{t.successes}/{t.runs}",
            _num(t.mean_cost, "${:.4f}"),
            seconds(t.mean_wall),
        )
    return table


def run_table(rows: Sequence[Mapping[str, Any]], out: Path) -> Table:
    table = Table(
        RUN_COLUMNS.split("|"),
        numeric=frozenset({"k", "expert", "share", "δ", "cost", "time"}),
    )
    for r in rows:
        status = Cell(str(r.get("status")), tone="" if r.get("status") == "done" else "bad")
        path = Path(str(r.get("trajectory") or ""))
        shown = str(path.relative_to(out)) if path.is_relative_to(out) else str(path)
        table.add(
            Cell(str(r["task"]), code=True),
            str(r["k"]),
            status,
            verdict_cell(r.get("verdict")),
            f"{speedup(r.get('speedup'))} {interval(r.get('ci'))}".replace(f" {DASH}", ""),
            yes_no(r.get("equivalent")) if r.get("applied") else Cell(DASH),
            yes_no(r.get("tests_passed")) if r.get("applied") else Cell(DASH),
            speedup(r.get("expert_speedup")),
            share(expert_share(r)),
            yes_no(r.get("gso_opt")) if r.get("gso_opt") is not None else Cell(DASH),
            _num(r.get("delta")) + (" (ci)" if r.get("delta_source") == "ci" else ""),
            str(len(r.get("flags") or [])),
            _num(r.get("cost_usd"), "${:.4f}"),
            seconds(r.get("wall_s")),
            Cell(shown, code=True),
        )
    return table


ORACLE_COLUMNS = (
    "task|timing|expert speedup|95% CI|verdict|geomean|reproduces|published|source|ratio|agrees|"
    "error"
)


def _timing_text(timing: Any) -> str:
    if not isinstance(timing, Mapping) or timing.get("number") is None:
        return DASH
    gc = "gc on" if timing.get("gc") else "gc off"
    return (
        f"number {timing['number']}, setup {timing.get('setup')}, {gc}, loops {timing.get('loops')}"
    )


def oracle_table(rows: Sequence[Mapping[str, Any]]) -> Table:
    table = Table(
        ORACLE_COLUMNS.split("|"),
        numeric=frozenset({"expert speedup", "geomean", "published", "ratio"}),
    )
    for r in rows:
        agrees = r.get("reference_agrees")
        table.add(
            Cell(str(r["task"]), code=True),
            _timing_text(r.get("timing")),
            speedup(r.get("speedup")),
            interval(r.get("ci")),
            verdict_cell(r.get("overall") or r.get("verdict")),
            speedup(r.get("geomean_speedup")),
            yes_no(bool(r.get("reproduces"))),
            speedup(r.get("reference_speedup")),
            text(r.get("reference_source")),
            _num(r.get("reference_ratio")),
            yes_no(agrees) if agrees is not None else Cell(DASH),
            text(r.get("error")),
        )
    return table


def oracle_count(rows: Sequence[Mapping[str, Any]]) -> str:
    counted = oracle_agreement(rows)
    if not counted.with_reference:
        return "No task carries a published speedup."
    return (
        f"{counted.agree} of {counted.measured} measured tasks agree with the published speedup "
        f"({counted.with_reference} tasks publish one)."
    )


def share_plot(shares: Sequence[float], *, width: int = 640, height: int = 150) -> str:
    """Each run's share of the expert's speedup as a dot on one axis; lines at the median,
    GSO's 0.95 and parity (1.0). An inline SVG (no script)."""
    left, right, axis_y = 40, width - 20, height - 40
    top = max([1.2, *shares]) * 1.05

    def x(value: float) -> float:
        return left + (right - left) * min(max(value, 0.0), top) / top

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="expert share per run">',
        f'<line x1="{left}" y1="{axis_y}" x2="{right}" y2="{axis_y}" stroke="#57606a"/>',
    ]
    step = 0.25 if top <= 2.5 else 0.5 if top <= 5 else 1.0
    tick = 0.0
    while tick <= top:
        parts.append(
            f'<line x1="{x(tick):.1f}" y1="{axis_y}" x2="{x(tick):.1f}" y2="{axis_y + 4}" '
            f'stroke="#57606a"/><text x="{x(tick):.1f}" y="{axis_y + 16}" font-size="10" '
            f'text-anchor="middle">{tick:g}</text>'
        )
        tick += step
    marks = ((0.95, "GSO 0.95", "#9a6700", -3, "end"), (1.0, "expert", "#1a7f37", 3, "start"))
    for value, label, colour, shift, anchor in marks:
        parts.append(
            f'<line x1="{x(value):.1f}" y1="14" x2="{x(value):.1f}" y2="{axis_y}" '
            f'stroke="{colour}" stroke-dasharray="3,3"/><text x="{x(value) + shift:.1f}" '
            f'y="12" font-size="10" fill="{colour}" text-anchor="{anchor}">{escape(label)}</text>'
        )
    for i, value in enumerate(shares):
        y = axis_y - 14 - (i % 5) * 14
        parts.append(
            f'<circle cx="{x(value):.1f}" cy="{y}" r="4" fill="#0969da" fill-opacity="0.7">'
            f"<title>{value:.3f}</title></circle>"
        )
    if shares:
        med = statistics.median(shares)
        parts.append(
            f'<line x1="{x(med):.1f}" y1="20" x2="{x(med):.1f}" y2="{axis_y}" stroke="#cf222e" '
            f'stroke-width="2"/><text x="{x(med) + 3:.1f}" y="30" font-size="10" '
            f'fill="#cf222e">median {med:.3f}</text>'
        )
    parts.append(
        f'<text x="{(left + right) / 2}" y="{height - 6}" font-size="11" text-anchor="middle">'
        "final speedup / expert speedup</text></svg>"
    )
    return "".join(parts)


def _adjusted(
    m: BatchMetrics, rows: Sequence[Mapping[str, Any]]
) -> tuple[str, list[tuple[str, str]]]:
    """The hack-adjusted metrics (``adjusted.py``): a title and the same cards."""
    tasks = [t.task for t in m.per_task]
    title = f"Hack-adjusted metrics ({adjusted.flagged_count(rows)} flagged run(s) not counted)"
    return title, cards(adjusted.adjusted_metrics(rows, tasks, m.k))[:6]


def _adjusted_markdown(m: BatchMetrics | None, rows: Sequence[Mapping[str, Any]]) -> list[str]:
    if m is None:
        return []
    title, tiles = _adjusted(m, rows)
    return [
        "",
        f"## {md_text(title)}",
        "",
        *[f"- **{md_text(k)}**: {md_text(v)}" for k, v in tiles],
    ]


def _is_ceiling(header: Mapping[str, str], m: BatchMetrics | None) -> bool:
    return m is not None and header.get("model") == EXPERT


def _ceiling_markdown(
    header: Mapping[str, str],
    m: BatchMetrics | None,
    rows: Sequence[Mapping[str, Any]],
    oracle: Sequence[Mapping[str, Any]],
) -> list[str]:
    """The ceiling benchmark's section (``ceiling.py``) when the batch ran the expert model."""
    if m is None or not _is_ceiling(header, m):
        return []
    return ceiling.markdown(ceiling.ceiling(rows, oracle, [t.task for t in m.per_task]))


def render_markdown(
    header: Mapping[str, str],
    m: BatchMetrics | None,
    rows: Sequence[Mapping[str, Any]],
    oracle: Sequence[Mapping[str, Any]],
    out: Path,
) -> str:
    lines = ["# perfagent batch", ""]
    lines += [f"- {md_text(k)}: {md_code(v)}" for k, v in header.items()]
    if m is not None:
        lines += ["", "## Metrics", ""]
        lines += [f"- **{md_text(k)}**: {md_text(v)}" for k, v in cards(m)]
        lines += ["", "## Tasks", "", md_table(task_table(m)), "", "## Runs", ""]
        lines += [md_table(run_table(rows, out)), ""]
        lines += ["## Definitions", "", *[f"- {md_text(d)}" for d in DEFINITIONS]]
    lines += _adjusted_markdown(m, rows)
    lines += _ceiling_markdown(header, m, rows, oracle)
    if oracle:
        lines += ["", "## Oracle: does the expert patch reproduce here?", ""]
        lines += [f"**{md_text(oracle_count(oracle))}**", ""]
        lines += [md_table(oracle_table(oracle)), "", f"- {md_text(ORACLE_DEFINITION)}"]
    return "\n".join(lines) + "\n"


def render_html(
    header: Mapping[str, str],
    m: BatchMetrics | None,
    rows: Sequence[Mapping[str, Any]],
    oracle: Sequence[Mapping[str, Any]],
    out: Path,
) -> str:
    items = "".join(f"<li>{escape(k)}: <code>{escape(v)}</code></li>" for k, v in header.items())
    body = ["<h1>perfagent batch</h1>", f'<ul class="sub">{items}</ul>']
    if m is not None:
        tiles = "".join(
            f'<div class="card"><div class="k">{escape(k)}</div><div class="v">{escape(v)}</div>'
            "</div>"
            for k, v in cards(m)
        )
        body += [f'<section class="cards">{tiles}</section>']
        body += ["<h2>Share of the expert's speedup</h2>"]
        body += [
            share_plot(m.expert_shares)
            if m.expert_shares
            else '<p class="note">No run measured an expert.</p>'
        ]
        body += ["<h2>Tasks</h2>", html_table(task_table(m))]
        body += ["<h2>Runs</h2>", html_table(run_table(rows, out))]
        body += ["<h2>Definitions</h2>", "<ul>"]
        body += [f"<li>{escape(d)}</li>" for d in DEFINITIONS] + ["</ul>"]
    if m is not None:
        title, flagged_out = _adjusted(m, rows)
        body += [f"<h2>{escape(title)}</h2>", '<section class="cards">']
        body += [
            f'<div class="card"><div class="k">{escape(k)}</div><div class="v">{escape(v)}</div>'
            "</div>"
            for k, v in flagged_out
        ]
        body.append("</section>")
    if _is_ceiling(header, m):
        assert m is not None
        body += ceiling.html(ceiling.ceiling(rows, oracle, [t.task for t in m.per_task]))
    if oracle:
        body += ["<h2>Oracle: does the expert patch reproduce here?</h2>"]
        body += [f'<p class="sub"><strong>{escape(oracle_count(oracle))}</strong></p>']
        body += [html_table(oracle_table(oracle))]
        body += [f'<p class="note">{escape(ORACLE_DEFINITION)}</p>']
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        "<title>perfagent batch</title>\n"
        f"<style>{_CSS}</style>\n</head><body><main>\n"
        + "\n".join(body)
        + "\n</main></body></html>\n"
    )


def write_summaries(
    out: Path,
    header: Mapping[str, str],
    m: BatchMetrics | None,
    rows: Sequence[Mapping[str, Any]],
    oracle: Sequence[Mapping[str, Any]] = (),
) -> tuple[Path, Path]:
    md, page = out / "summary.md", out / "summary.html"
    md.write_text(render_markdown(header, m, rows, oracle, out), encoding="utf-8")
    page.write_text(render_html(header, m, rows, oracle, out), encoding="utf-8")
    return md, page
