"""``report.md``: the run's report as GitHub-flavoured markdown (flame graphs: report.html)."""

from __future__ import annotations

import re
from typing import Any

from perfagent.agent.report import facts
from perfagent.agent.report.cells import DASH, Cell, Table, dig, text
from perfagent.agent.report.headline import headline, workload_table

# Characters that could start markup, each backslashed (CommonMark renders "\\X" as "X" for
# any ASCII punctuation X): emphasis, code, tables, strike-through; "<" (an HTML tag or
# autolink); "&" only before what would read as an entity; "]" only where it could close a
# link or an image; ">" only first (a quote). "[1.0, 2.0]" and "a -> b" stay readable.
_SPECIAL = re.compile(r"([\\`*_|~<]|&(?=#?\w+;)|\](?=[(\[])|^>)")


def md_text(value: str) -> str:
    """Literal text on one line, markup characters backslashed (never HTML entities, which
    read as ``&gt;`` wherever markdown is shown as text)."""
    return _SPECIAL.sub(r"\\\1", " ".join(value.split()))


def md_code(value: str) -> str:
    """An inline code span that survives backticks in the value and table pipes."""
    value = " ".join(value.split())
    ticks = "`" * (max((len(m) for m in re.findall(r"`+", value)), default=0) + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{ticks}{pad}{value}{pad}{ticks}".replace("|", "\\|")


def md_block(value: str, lang: str = "") -> str:
    fence = "`" * max(3, max((len(m) for m in re.findall(r"`+", value)), default=0) + 1)
    return f"{fence}{lang}\n{value.rstrip(chr(10))}\n{fence}"


def _cell(cell: Cell) -> str:
    if cell.text in ("", DASH):
        return cell.text
    body = md_code(cell.text) if cell.code else md_text(cell.text)
    return f"**{body}**" if cell.tone == "bad" else body


def md_table(table: Table) -> str:
    if not table.rows:
        return "_none_"
    align = ["---:" if c in table.numeric else "---" for c in table.columns]
    lines = [
        "| " + " | ".join(md_text(c) for c in table.columns) + " |",
        "| " + " | ".join(align) + " |",
    ]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows]
    return "\n".join(lines)


def md_hotspots(profile: dict[str, Any]) -> str:
    """The hotspot table, or why there is none."""
    reason = facts.no_hotspots_reason(profile)
    return md_text(reason) if reason else md_table(facts.hotspot_table(profile))


def _pairs(rows: list[tuple[str, str]]) -> str:
    return md_table(Table(["key", "value"], [[Cell(k, code=True), Cell(v)] for k, v in rows]))


def render_markdown(traj: dict[str, Any], *, path: str | None = None) -> str:
    """The report; ``path`` is the trajectory's location, for the re-verify command."""
    out = [f"# perfagent report: {md_code(text(traj.get('task_id')))}", ""]
    out.append(
        f"Run {md_code(text(traj.get('run_id')))}, "
        f"created {md_text(text(traj.get('created')))}, "
        f"updated {md_text(text(traj.get('updated')))}."
    )
    cards = Table(["result", "value"], [[Cell(k), c] for k, c in headline(traj)])
    out += ["", md_table(cards)]
    per_workload = workload_table(traj)
    if per_workload is not None:
        out += ["", md_table(per_workload)]
    if traj.get("error"):
        out += ["", f"> **Run failed:** {md_text(str(traj['error']))}"]

    flags = facts.flags(traj)
    out += ["", f"## Guard flags ({len(flags)})", ""]
    out += [f"- ⚠ {md_text(f)}" for f in flags] or ["No guard flags were raised."]

    out += ["", "## Measurement", ""]
    report = facts.final_report(traj)
    if report is None:
        out.append("No final measurement (the run stopped before one).")
    else:
        out += [md_table(facts.measurement_table(report)), ""]
        out += [f"- {md_text(note)}" for note in facts.measurement_notes(report)]

    out += ["", "## Hotspots", ""]
    pairs = facts.profile_pair(traj)
    for label, profile in pairs:
        out += [f"### {md_text(label)}", "", md_hotspots(profile), ""]
    if pairs:
        out.append("Flame graphs of these profiles are in `report.html`.")
    else:
        out.append("No profile was recorded.")

    out += ["", "## Candidates", "", md_table(facts.candidate_table(traj))]
    out += ["", "## Rounds", "", md_table(facts.rounds_table(traj))]

    model_usage = facts.usage(traj)
    if model_usage is not None:
        totals, per_model = model_usage
        out += ["", "## Model usage", ""]
        out.append(", ".join(f"{k}: {md_text(v)}" for k, v in totals))
        out += ["", md_table(per_model)]

    out += ["", "## Final patch", ""]
    patch = dig(traj, "final", "patch")
    out.append(md_block(patch, "diff") if patch else "No change was kept.")

    out += ["", "## Re-verify", "", md_block(facts.replay_command(traj, path), "sh")]
    for section, rows in facts.settings(traj):
        out += ["", f"## {section.capitalize()}", "", _pairs(rows)]
    return "\n".join(out) + "\n"
