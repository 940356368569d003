"""What the App writes on GitHub, from a run's trajectory alone: the pull request body (with
the reward-hack guard's flags first when there are any), the comment when nothing was kept or
a flagged change is only reported, and check run summaries (reusing ``agent.report.facts``)."""

from __future__ import annotations

from typing import Any

from perfagent.agent.report import facts
from perfagent.agent.report.cells import dig, interval, speedup
from perfagent.agent.report.markdown import md_block, md_code, md_hotspots, md_table, md_text

MARKER = "<!-- perfagent -->"


def result_line(doc: dict[str, Any]) -> str:
    final = doc.get("final") or {}
    tests = "passed" if final.get("tests_passed") else "failed"
    outputs = "identical" if final.get("equivalent") else "different"
    return (
        f"{speedup(final.get('speedup'))} faster (95 % CI {interval(final.get('ci'))}), "
        f"verdict {final.get('verdict')}, tests {tests}, outputs {outputs}"
    )


def pull_body(doc: dict[str, Any], *, trigger: str, commit: str) -> str:
    """The PR body: the speedup table with CIs, tests and equivalence, before/after
    hotspots, the candidate history and how to re-verify."""
    final = doc.get("final") or {}
    out = [
        MARKER,
        f"**perfagent** ({trigger}) on {md_code(commit[:12])}: {md_text(result_line(doc))}.",
        "",
        *flag_section(final.get("flags") or []),
        "## Measurements",
        "",
    ]
    report = final.get("report")
    if isinstance(report, dict):
        out += [md_table(facts.measurement_table(report)), ""]
        out += [f"- {md_text(note)}" for note in facts.measurement_notes(report)]
        out.append("")
    out += _tests(report)
    out += _profiles(doc)
    out += ["## Candidates", "", md_table(facts.candidate_table(doc)), ""]
    out += [
        f"Stopped: {md_text(str(doc.get('stop_reason') or 'done'))}. Run "
        f"{md_code(str(doc.get('run_id')))}: its trajectory "
        f"{md_code(str(doc.get('task_id')) + '.traj.json')} (in the App's runs dir) re-verifies "
        f"with {md_code('perfagent replay')}.",
    ]
    return "\n".join(out)


def flag_section(flags: list[str]) -> list[str]:
    """Each flag of the reward-hack guard on its own line, under a heading (none: nothing)."""
    if not flags:
        return []
    return [
        "## Flagged by the reward-hack guard",
        "",
        "The speedup is measured and the outputs and tests hold, but the guard flagged what the "
        "change adds; this is a draft until a person has weighed each flag:",
        "",
        *(f"- {md_code(flag)}" for flag in flags),
        "",
    ]


def flagged(doc: dict[str, Any], flags: list[str]) -> str:
    """The comment for a flagged change when the App is set to comment instead of opening a
    draft pull request: the result, each flag, and the diff."""
    final = doc.get("final") or {}
    return "\n".join(
        [
            MARKER,
            f"**perfagent** found a change it does not propose on its own: "
            f"{md_text(result_line(doc))}.",
            "",
            *flag_section(flags),
            "## The change",
            "",
            md_block(str(final.get("patch") or ""), "diff"),
            "",
        ]
    )


def nothing_kept(doc: dict[str, Any], reason: str) -> str:
    """The comment when no edit was worth a pull request: what was tried and why."""
    out = [
        MARKER,
        f"**perfagent** found nothing to propose: {md_text(reason)}.",
        "",
        f"Stopped: {md_text(str(doc.get('stop_reason') or doc.get('status')))}.",
        "",
    ]
    if doc.get("candidates"):
        out += ["## What was tried", "", md_table(facts.candidate_table(doc)), ""]
    else:
        out += ["No candidate edit was proposed for the hot functions.", ""]
    out += _profiles(doc)[:6]
    return "\n".join(out)


def _tests(report: Any) -> list[str]:
    """Test commands per variant (``tests`` of a ``MeasureReport``: variant → results)."""
    by_variant = dig(report, "tests")
    if not isinstance(by_variant, dict) or not by_variant:
        return []
    out = ["## Tests", ""]
    for variant, rows in by_variant.items():
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, dict):
                state = "passed" if row.get("passed") else "**failed**"
                out.append(
                    f"- {md_text(str(variant))}: {md_code(str(row.get('command')))} {state}"
                    f" ({md_text(str(row.get('summary') or ''))})"
                )
    return [*out, ""]


def _profiles(doc: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for label, profile in facts.profile_pair(doc):
        out += [f"## Hotspots {md_text(label)}", "", md_hotspots(profile), ""]
    return out
