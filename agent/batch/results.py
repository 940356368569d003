"""``results.jsonl``: one line per finished run, appended by the batch's client only.

Lines are keyed by (task, k); reading keeps the last line of each key, so a rerun with
``--redo`` supersedes a result without rewriting the file, and a torn last line (a kill in the
middle of a write) is ignored. ``row_from_trajectory`` turns a run's trajectory into a line.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from perfagent.agent.batch.metrics import delta_from_ci, swe_perf_delta
from perfagent.agent.trajectory import timing_split, verdict_facts

RESULTS = "results.jsonl"
ORACLE = "oracle.jsonl"

Key = tuple[str, int]


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class ResultsFile:
    """Append-only JSON lines with a key per line; the last line of a key wins."""

    def __init__(self, path: Path, key_fields: tuple[str, str] = ("task", "k")) -> None:
        self.path = path
        self.key_fields = key_fields

    def key(self, row: Mapping[str, Any]) -> Key:
        task, k = self.key_fields
        return str(row[task]), int(row.get(k, 0))

    def read(self) -> dict[Key, dict[str, Any]]:
        rows: dict[Key, dict[str, Any]] = {}
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return rows
        for line in text.splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a kill
            if isinstance(row, dict):
                rows[self.key(row)] = row
        return rows

    def append(self, row: Mapping[str, Any]) -> None:
        """One line, flushed and synced, so a kill right after loses nothing."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(row, sort_keys=True, default=str)
        # A previous writer killed mid-line left no newline: start on a fresh line.
        torn = (
            self.path.exists() and self.path.stat().st_size > 0 and not _ends_in_newline(self.path)
        )
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(("\n" if torn else "") + line + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def _ends_in_newline(path: Path) -> bool:
    if path.stat().st_size == 0:
        return True
    with path.open("rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


def _delta(final: Mapping[str, Any]) -> tuple[float | None, str | None]:
    """SWE-Perf's δ for the final patch: mean over workloads. Exact from raw per-process
    times when the report carries them (``base_values`` / ``values``), else from the CI."""
    report = final.get("report") or {}
    workloads = report.get("workloads") or []
    exact: list[float] = []
    for workload in workloads:
        candidate = (workload.get("variants") or {}).get("candidate") or {}
        base, mine = workload.get("base_values"), candidate.get("values")
        if not base or not mine:
            break
        exact.append(swe_perf_delta(base, mine))
    else:
        if exact:
            return sum(exact) / len(exact), "samples"
    candidates = [((w.get("variants") or {}).get("candidate") or {}) for w in workloads]
    approx = [d for d in (delta_from_ci(c.get("ci")) for c in candidates) if d is not None]
    if approx and len(approx) == len(workloads):
        return sum(approx) / len(approx), "ci"
    return None, None


def row_from_trajectory(
    doc: Mapping[str, Any] | None,
    *,
    task: str,
    k: int,
    trajectory: Path,
    error: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The results line of one run; ``doc`` is None when the run left no trajectory."""
    doc = doc or {}
    final = doc.get("final") or {}
    applied = bool(final.get("patch")) and final.get("verdict") is not None
    delta, source = _delta(final) if applied else (None, None)
    status = doc.get("status") or "failed"
    if error is not None:
        status = "failed"
    return {
        "task": task,
        "k": k,
        "status": status,
        "run_id": doc.get("run_id"),
        "applied": applied,
        **verdict_facts(final),
        "expert_verdict": final.get("expert_verdict"),
        "delta": delta,
        "delta_source": source,
        "flags": list(final.get("flags") or []),
        "stop_reason": doc.get("stop_reason"),
        "cost_usd": float((doc.get("usage") or {}).get("cost_usd") or 0.0),
        "calls": int((doc.get("usage") or {}).get("calls") or 0),
        # The run's own clock: its nodes' wall time, summed over resumed attempts.
        "wall_s": sum(float(t.get("wall_s") or 0.0) for t in doc.get("timings") or []),
        # Where it went: sessions, profiler, model, and the driver's own overhead.
        "timing": timing_split(doc.get("timings") or [], doc.get("measurements") or []),
        "trajectory": str(trajectory),
        "error": error if error is not None else doc.get("error"),
        "finished": now(),
        **(extra or {}),
    }


def rows_for(rows: Iterable[dict[str, Any]], tasks: Iterable[str]) -> list[dict[str, Any]]:
    wanted = set(tasks)
    return sorted((r for r in rows if r["task"] in wanted), key=lambda r: (r["task"], r["k"]))
