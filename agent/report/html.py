"""``report.html``: one self-contained page (inline CSS and SVG; no script, font or fetch).

Everything taken from the trajectory goes through ``html.escape``; the page also declares a
Content-Security-Policy that forbids scripts and every network load, so a diff or a model's
text that slipped through could still not run or phone home.
"""

from __future__ import annotations

from html import escape
from typing import Any

from perfagent.agent.report import facts
from perfagent.agent.report.cells import DASH, Cell, Table, dig, text
from perfagent.tools.profile import flamegraph_svg

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
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
"""


def _cell(cell: Cell, tag: str = "td", numeric: bool = False) -> str:
    classes = " ".join(c for c in (cell.tone, "num" if numeric else "") if c)
    attr = f' class="{classes}"' if classes else ""
    body = escape(cell.text)
    if cell.code and cell.text not in ("", DASH):
        body = f"<code>{body}</code>"
    return f"<{tag}{attr}>{body}</{tag}>"


def html_table(table: Table) -> str:
    if not table.rows:
        return '<p class="note">none</p>'
    numeric = [c in table.numeric for c in table.columns]
    head = "".join(_cell(Cell(c), "th", n) for c, n in zip(table.columns, numeric, strict=True))
    rows = [
        "<tr>" + "".join(_cell(c, "td", n) for c, n in zip(row, numeric, strict=True)) + "</tr>"
        for row in table.rows
    ]
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _diff(patch: str) -> str:
    lines = []
    for line in patch.rstrip("\n").split("\n"):
        kind = "" if line.startswith(("+++", "---")) else _DIFF_CLASS.get(line[:1], "")
        lines.append(f'<span class="{kind}">{escape(line)}</span>' if kind else escape(line))
    return '<pre class="patch">' + "\n".join(lines) + "</pre>"


def _kv(rows: list[tuple[str, str]]) -> str:
    items = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows)
    return f'<dl class="kv">{items}</dl>'


def _headline(traj: dict[str, Any]) -> str:
    cards = []
    for key, cell in facts.headline(traj):
        big = " big" if key.startswith(("speedup", "verdict")) else ""
        value = escape(cell.text)
        if cell.code and cell.text != DASH:
            value = f"<code>{value}</code>"
        tone = f" {cell.tone}" if cell.tone else ""
        cards.append(
            f'<div class="card{big}"><div class="k">{escape(key)}</div>'
            f'<div class="v{tone}">{value}</div></div>'
        )
    return f'<section class="cards">{"".join(cards)}</section>'


def _flags(traj: dict[str, Any]) -> str:
    flags = facts.flags(traj)
    if not flags:
        return '<section class="box flags none">No guard flags were raised.</section>'
    items = "".join(f"<li>{escape(f)}</li>" for f in flags)
    return (
        f'<section class="box flags"><h2>⚠ Guard flags ({len(flags)})</h2>'
        f"<ul>{items}</ul></section>"
    )


def _measurement(traj: dict[str, Any]) -> list[str]:
    out = ["<h2>Measurement</h2>"]
    report = facts.final_report(traj)
    if report is None:
        return [*out, '<p class="note">No final measurement (the run stopped before one).</p>']
    out.append(html_table(facts.measurement_table(report)))
    notes = "".join(f"<li>{escape(n)}</li>" for n in facts.measurement_notes(report))
    return [*out, f"<ul>{notes}</ul>"]


def _profiles(traj: dict[str, Any]) -> list[str]:
    pairs = facts.profile_pair(traj)
    if not pairs:
        return ["<h2>Hotspots</h2>", '<p class="note">No profile was recorded.</p>']
    out = ["<h2>Hotspots</h2>"]
    for label, profile in pairs:
        reason = facts.no_hotspots_reason(profile)
        body = f'<p class="note">{escape(reason)}</p>' if reason else None
        out += [f"<h3>{escape(label)}</h3>", body or html_table(facts.hotspot_table(profile))]
    out.append("<h2>Flame graphs</h2>")
    for label, profile in pairs:
        lines = facts.folded(profile)
        title = f"{label.split(':')[0]}: {profile.get('workload')}"
        graph = (
            f'<div class="fg">{flamegraph_svg(lines, title=title)}</div>'
            if lines
            else '<p class="note">No stacks were recorded for this profile.</p>'
        )
        out.append(f"<figure>{graph}<figcaption>{escape(label)}</figcaption></figure>")
    return out


def _usage(traj: dict[str, Any]) -> list[str]:
    model_usage = facts.usage(traj)
    if model_usage is None:
        return []
    totals, per_model = model_usage
    return ["<h2>Model usage</h2>", _kv(totals), html_table(per_model)]


def render_html(traj: dict[str, Any], *, path: str | None = None) -> str:
    """The report page; ``path`` is the trajectory's location, for the re-verify command."""
    task = text(traj.get("task_id"))
    body = [
        f"<h1>perfagent report: <code>{escape(task)}</code></h1>",
        f'<p class="sub">run <code>{escape(text(traj.get("run_id")))}</code> · created '
        f"{escape(text(traj.get('created')))} · updated "
        f"{escape(text(traj.get('updated')))}</p>",
        _headline(traj),
    ]
    if traj.get("error"):
        body.append(
            f'<section class="box error"><strong>Run failed:</strong> '
            f"{escape(str(traj['error']))}</section>"
        )
    body.append(_flags(traj))
    body += _measurement(traj)
    body += _profiles(traj)
    body += ["<h2>Candidates</h2>", html_table(facts.candidate_table(traj))]
    body += ["<h2>Rounds</h2>", html_table(facts.rounds_table(traj))]
    body += _usage(traj)
    patch = dig(traj, "final", "patch")
    body.append("<h2>Final patch</h2>")
    body.append(_diff(patch) if patch else '<p class="note">No change was kept.</p>')
    body += [
        "<h2>Re-verify</h2>",
        f"<pre>{escape(facts.replay_command(traj, path))}</pre>",
    ]
    for section, rows in facts.settings(traj):
        body += [f"<h2>{escape(section.capitalize())}</h2>", _kv(rows)]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>perfagent report: {escape(task)}</title>\n<style>{_CSS}</style>\n"
        "</head><body><main>\n" + "\n".join(body) + "\n</main></body></html>\n"
    )
