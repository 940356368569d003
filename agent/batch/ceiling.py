"""The ceiling benchmark's section of a batch summary (``perfagent batch --model expert``).

With the expert model every proposal is the expert's own patch, so a task the batch loses is
lost by the pipeline (profile, parse, apply, guard, screen, verdict, GSO's criterion), not by
a model. The section sets the ceiling Opt@1 next to the oracle (the expert measured alone,
``--oracle`` into the same batch dir), the mean share of the expert's speedup, and names each
lost task with the reason its run gives.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from perfagent.agent.batch.metrics import expert_share, succeeded

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Ceiling:
    tasks: int
    opt_at_1: float  # share of tasks whose first run met GSO's criterion
    oracle_measured: int  # tasks with an oracle row
    oracle_reproduces: int  # of those, tasks whose expert reproduces here
    mean_expert_share: float | None  # mean over done runs of final speedup / expert's
    lost: list[tuple[str, str]] = field(default_factory=list)  # (task, why)


def ceiling(rows: Sequence[Row], oracle: Sequence[Row], tasks: Sequence[str]) -> Ceiling:
    """The ceiling figures from run 0 of each task (rows of other runs are ignored)."""
    first = {str(r["task"]): r for r in rows if int(r["k"]) == 0}
    shares = [s for r in first.values() if (s := expert_share(r)) is not None]
    lost = [(t, why_lost(first[t]) if t in first else "not run") for t in tasks]
    return Ceiling(
        tasks=len(tasks),
        opt_at_1=sum(t in first and succeeded(first[t]) for t in tasks) / max(len(tasks), 1),
        oracle_measured=len(oracle),
        oracle_reproduces=sum(bool(r.get("reproduces")) for r in oracle),
        mean_expert_share=statistics.fmean(shares) if shares else None,
        lost=[(t, why) for t, why in lost if not (t in first and succeeded(first[t]))],
    )


def why_lost(row: Row) -> str:
    """One line: why this run of the expert's patch did not meet GSO's criterion."""
    if row.get("status") != "done":
        return f"run failed: {row.get('error') or 'no trajectory'}"
    if not row.get("applied"):
        return f"no edit kept: {_rejection(row)}"
    parts = [
        f"kept at {_x(row.get('speedup'))} against the expert's {_x(row.get('expert_speedup'))}"
    ]
    share = expert_share(row)
    if share is not None:
        parts.append(f"share {share:.0%}")
    if row.get("equivalent") is False:
        parts.append("outputs not equivalent")
    if row.get("tests_passed") is False:
        parts.append("tests fail")
    if row.get("speedup") is not None and float(row["speedup"]) < 1.2:
        parts.append("below GSO's 1.2×")
    return ", ".join(parts)


def _x(value: Any) -> str:
    return f"{float(value):.2f}×" if isinstance(value, int | float) else "—"


def _rejection(row: Row) -> str:
    """What the run's trajectory says became of the expert's candidate."""
    try:
        doc = json.loads(Path(str(row.get("trajectory") or "")).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return str(row.get("stop_reason") or "unknown")
    candidates = [c for c in doc.get("candidates") or [] if c.get("source") == "model"]
    if candidates:
        c = candidates[0]
        speed = f" ({_x(c.get('speedup'))})" if c.get("speedup") is not None else ""
        return f"rejected at {c.get('stage')}{speed}: {c.get('reason')}"
    errors = [e for r in doc.get("rounds") or [] for e in r.get("proposer_errors") or []]
    if errors:
        return f"the answer did not apply: {errors[0]}"
    return str(doc.get("stop_reason") or row.get("stop_reason") or "no candidate")


def _headline(c: Ceiling) -> list[tuple[str, str]]:
    oracle = (
        f"{c.oracle_reproduces}/{c.oracle_measured} reproduce"
        if c.oracle_measured
        else "not measured (run the batch with --oracle into the same --out)"
    )
    share = f"{c.mean_expert_share:.1%}" if c.mean_expert_share is not None else "—"
    return [
        ("ceiling Opt@1", f"{c.opt_at_1:.1%} of {c.tasks} task(s)"),
        ("oracle (expert alone)", oracle),
        ("mean share of the expert's speedup", share),
    ]


def markdown(c: Ceiling) -> list[str]:
    lines = ["", "## Ceiling: the pipeline with the expert's own patch as the answer", ""]
    lines += [f"- **{k}**: {v}" for k, v in _headline(c)]
    if c.lost:
        lines += ["", "Tasks the ceiling loses:", ""]
        lines += [f"- `{t}`: {' '.join(why.split())}" for t, why in c.lost]
    return lines


def html(c: Ceiling) -> list[str]:
    body = ["<h2>Ceiling: the pipeline with the expert's own patch as the answer</h2>", "<ul>"]
    body += [f"<li><b>{escape(k)}</b>: {escape(v)}</li>" for k, v in _headline(c)]
    body.append("</ul>")
    if c.lost:
        body += ["<p>Tasks the ceiling loses:</p>", "<ul>"]
        body += [f"<li><code>{escape(t)}</code>: {escape(why)}</li>" for t, why in c.lost]
        body.append("</ul>")
    return body
