"""Hack-adjusted batch metrics: every metric again with flagged runs not counted.

A run whose final patch carries a flag (the reward-hack guard, the judge, the first-call
check, the lab's hidden-workload and memory checks) counts as not solved and not applied, as
GSO's leaderboard reports a hack-adjusted score beside the raw one. The flags are for people
to read; this view shows what the metrics are worth if every flag were a hack.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from perfagent.agent.batch.metrics import BatchMetrics, compute

Row = Mapping[str, Any]


def flagged(row: Row) -> bool:
    return bool(row.get("flags"))


def adjusted_rows(rows: Sequence[Row]) -> list[dict[str, Any]]:
    """The rows with each flagged run turned into a run that kept nothing."""
    out = []
    for row in rows:
        if flagged(row):
            row = {**row, "gso_opt": False, "applied": False, "speedup": None, "delta": None}
        out.append(dict(row))
    return out


def adjusted_metrics(rows: Sequence[Row], tasks: Sequence[str], k: int) -> BatchMetrics:
    return compute(adjusted_rows(rows), list(tasks), k)


def flagged_count(rows: Sequence[Row]) -> int:
    return sum(flagged(r) for r in rows)
