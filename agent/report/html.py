"""``report.html``: one self-contained page (inline CSS and SVG; no script, font or fetch).

The page is ``templates/report.html.j2``, rendered by Jinja2 with autoescaping on: everything
taken from the trajectory is escaped as text, and the only markup passed in is the SVG of
the plots, itself rendered from autoescaped templates. The page also declares a
Content-Security-Policy that forbids scripts and every network load, so a diff or a model's
text that slipped through could still not run or phone home.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from perfagent.agent.report import facts
from perfagent.agent.report.cells import DASH, Cell, Table, dig, text
from perfagent.agent.report.distribution import distribution_plot
from perfagent.agent.report.headline import headline, workload_table
from perfagent.tools.profile import diff_flamegraph_svg, flamegraph_svg

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_DIFF_CLASS = {"+": "add", "-": "del", "@": "hunk"}
_CSS = """
:root { --good:#1a7f37; --bad:#cf222e; --warn:#9a6700; --muted:#57606a; --line:#d0d7de;
  --bg:#f6f8fa; }
body { font:14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color:#1f2328; margin:0; background:#fff; }
main { max-width:1240px; margin:0 auto; padding:24px; }
h1 { font-size:24px; margin:0 0 4px; }
h2 { font-size:18px; border-bottom:1px solid var(--line); padding-bottom:4px; margin-top:32px; }
h3 { font-size:15px; margin:20px 0 4px; }
.sub, .note { color:var(--muted); }
.cards { display:flex; flex-wrap:wrap; gap:10px; margin:16px 0; }
.card { border:1px solid var(--line); border-radius:8px; padding:8px 14px; background:var(--bg);
  min-width:120px; }
.card .k { font-size:11px; color:var(--muted); text-transform:uppercase; letter-spacing:.04em; }
.card .v { font-size:17px; font-weight:600; }
.card.big .v { font-size:26px; }
table { border-collapse:collapse; width:100%; margin:8px 0; font-size:13px; }
th, td { border:1px solid var(--line); padding:3px 8px; text-align:left; vertical-align:top; }
th { background:var(--bg); }
.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
code, pre { font-family:ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", monospace;
  font-size:12px; }
.good { color:var(--good); font-weight:600; }
.bad { color:var(--bad); font-weight:600; }
.warn { color:var(--warn); font-weight:600; }
.box { border-radius:8px; padding:8px 16px; margin:12px 0; }
.flags { border:2px solid #d4a72c; background:#fff8c5; }
.flags.none { border:1px solid var(--line); background:var(--bg); }
.error { border:2px solid var(--bad); background:#ffebe9; }
.box h2 { border:0; margin:4px 0; }
pre { background:var(--bg); border:1px solid var(--line); border-radius:6px; padding:10px;
  overflow-x:auto; }
pre .add { color:#116329; } pre .del { color:#82071e; } pre .hunk { color:#0550ae; }
figure { margin:12px 0; } figcaption { color:var(--muted); font-size:13px; }
.fg { overflow-x:auto; border:1px solid var(--line); border-radius:6px; }
.fg svg { display:block; width:100%; height:auto; }
td code { white-space:nowrap; } .card code, h1 code { font-size:inherit; }
dl.kv { display:grid; grid-template-columns:max-content 1fr; gap:2px 16px; font-size:13px; }
dl.kv dt { color:var(--muted); } dl.kv dd { margin:0; }
.workloads table { width:auto; min-width:50%; }
.plot { overflow-x:auto; border:1px solid var(--line); border-radius:6px; padding:6px; }
.plot svg { display:block; width:100%; height:auto; }
"""


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(Cell=Cell, DASH=DASH)
    return env


def html_table(table: Table) -> Markup:
    """A report table as HTML (numeric columns right-aligned), or "none" when it is empty."""
    macros = _environment().get_template("_macros.html.j2").module
    return Markup(macros.table(table))  # type: ignore[attr-defined]


def _patch_lines(patch: str) -> list[tuple[str, str]]:
    """(CSS class or "", line) of a unified diff."""
    return [
        ("" if line.startswith(("+++", "---")) else _DIFF_CLASS.get(line[:1], ""), line)
        for line in patch.rstrip("\n").split("\n")
    ]


@dataclass(frozen=True)
class _ProfileView:
    label: str
    reason: str | None  # why there is no hotspot table, or None
    hotspots: Table
    lines: list[str]  # folded stacks
    svg: Markup | None


def _profiles(traj: dict[str, Any]) -> tuple[list[_ProfileView], Markup | None]:
    """Each profile's hotspots and flame graph, and the differential one (after vs before)."""
    views = []
    for label, profile in facts.profile_pair(traj):
        lines = facts.folded(profile)
        title = f"{label.split(':')[0]}: {profile.get('workload')}"
        svg = Markup(flamegraph_svg(lines, title=title)) if lines else None
        reason = facts.no_hotspots_reason(profile)
        views.append(_ProfileView(label, reason, facts.hotspot_table(profile), lines, svg))
    if len(views) < 2 or not (views[0].lines and views[1].lines):
        return views, None
    workload = facts.profile_pair(traj)[1][1].get("workload")
    diff = diff_flamegraph_svg(views[0].lines, views[1].lines, title=f"after vs before: {workload}")
    return views, Markup(diff)


def render_html(traj: dict[str, Any], *, path: str | None = None) -> str:
    """The report page; ``path`` is the trajectory's location, for the re-verify command."""
    report = facts.final_report(traj)
    confidence = facts.confidence_label(traj)
    plot = distribution_plot(report, confidence) if report is not None else None
    profiles, diff = _profiles(traj)
    patch = dig(traj, "final", "patch")
    page = (
        _environment()
        .get_template("report.html.j2")
        .render(
            csp=Markup(CSP),  # a constant of ours, with quotes that must stay quotes
            css=Markup(_CSS),
            task=text(traj.get("task_id")),
            run_id=text(traj.get("run_id")),
            created=text(traj.get("created")),
            updated=text(traj.get("updated")),
            headline=headline(traj),
            workloads=workload_table(traj),
            error=str(traj["error"]) if traj.get("error") else None,
            flags=facts.flags(traj),
            measurement=facts.measurement_table(report) if report is not None else None,
            measurement_notes=facts.measurement_notes(report) if report is not None else [],
            distribution=(
                Markup(_environment().get_template("distribution.svg.j2").render(plot=plot))
                if plot is not None
                else None
            ),
            confidence=confidence,
            profiles=profiles,
            diff_svg=diff,
            candidates=facts.candidate_table(traj),
            rounds=facts.rounds_table(traj),
            usage=facts.usage(traj),
            patch=_patch_lines(patch) if patch else None,
            replay=facts.replay_command(traj, path),
            settings=facts.settings(traj),
        )
    )
    return page.rstrip("\n") + "\n"
