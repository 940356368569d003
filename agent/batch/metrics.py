"""Batch metrics from results rows alone (pure functions; no files, no clock).

A row is one finished run, as ``results.jsonl`` holds it: ``task``, ``k`` (run index),
``status`` (``done``/``failed``), ``applied``, ``speedup``, ``verdict``, ``equivalent``,
``tests_passed``, ``expert_speedup``, ``gso_opt``, ``delta``, ``cost_usd``, ``wall_s``, …
Every rate's denominator is the number of tasks in the batch: a task whose runs are missing
or failed counts as not solved (as GSO and SWE-Perf count missing predictions).

GSO (gso-bench/gso):
- ``Opt@K`` = (tasks with at least one of their K runs meeting GSO's criterion) / tasks.
  The criterion is the run's ``gso_opt`` (geometric-mean speedup over base ≥ 1.2, harmonic
  mean of the per-workload shares of the expert's speedup > 0.95, outputs equivalent, tests
  passing).
- ``Opt@k`` for k ≤ K, estimated from n runs per task of which c succeeded, with the unbiased
  pass@k estimator averaged over tasks: ``1 − C(n−c, k) / C(n, k)``. GSO reports Opt@1 as the
  mean over random orders of the runs of "the first run succeeds"; the estimator is that
  mean's exact expectation (for k = 1 it is c/n). A task with 0 < n < k runs uses all n.

SWE-Perf (SWE-Perf/SWE-Perf), per run index k, then averaged over k:
- ``Apply`` = runs whose patch applied and was measured (a non-empty final patch) / tasks.
- ``Correctness`` = applied runs whose tests pass and outputs are equivalent / tasks.
- ``Performance`` = Σ δ over correct runs / tasks, δ being the mean over workloads of the
  largest runtime reduction x (grid 0.001, at most 1) such that base·(1−x) is still
  significantly slower than the patched code (one-sided Mann–Whitney U, p < 0.1), after
  dropping values outside [Q1 − IQR, Q3 + IQR] (``swe_perf_delta``).

SWE-fficiency (swefficiency/swefficiency):
- ``Speedup Ratio`` of a run = its speedup over base / the expert's speedup, where a run that
  failed, is incorrect (tests fail, outputs differ) or kept nothing counts as no speedup (1),
  so its SR is 1 / the expert's speedup; aggregated over tasks with a harmonic mean, per run
  index k (a missing run counts as no speedup), then averaged over k. The expert's speedup is
  the one measured in the run's own session (a failed run borrows the median of its task's
  other runs); a task with no expert measurement is left out and counted.

Published reference figures (``batch --oracle``):
- a task's measured expert speedup agrees with the collection's published one when
  measured / published is within ±15 % (published speedup ≤ 10×) or ±50 % (beyond).

perfagent's own:
- expert share of a done run = (its final speedup, or 1 when nothing was kept) / the
  expert's speedup in the same session; the median over runs and the distribution.
- cost (USD of model calls) and wall time: per run, and their means per task.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

Row = Mapping[str, Any]

SWE_PERF_P = 0.1
SWE_PERF_STEP = 0.001
SWE_PERF_MAX = 1.0


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased estimate of P(at least one of k runs succeeds) from c successes in n runs."""
    if n <= 0:
        return 0.0
    k = min(k, n)
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def by_task(rows: Iterable[Row], tasks: Sequence[str], k_max: int) -> dict[str, list[Row]]:
    """The rows of each task with run index < ``k_max``; one row per (task, k), the last."""
    chosen: dict[tuple[str, int], Row] = {}
    for row in rows:
        if row["task"] in tasks and 0 <= int(row["k"]) < k_max:
            chosen[(row["task"], int(row["k"]))] = row
    grouped: dict[str, list[Row]] = {t: [] for t in tasks}
    for (task, _), row in sorted(chosen.items()):
        grouped[task].append(row)
    return grouped


def succeeded(row: Row) -> bool:
    return row.get("status") == "done" and row.get("gso_opt") is True


def applied(row: Row) -> bool:
    return row.get("status") == "done" and bool(row.get("applied"))


def correct(row: Row) -> bool:
    return applied(row) and row.get("equivalent") is True and row.get("tests_passed") is not False


def opt_at_k(grouped: Mapping[str, Sequence[Row]]) -> float:
    """Observed Opt@K: the share of tasks with a successful run among their runs."""
    if not grouped:
        return 0.0
    return sum(any(succeeded(r) for r in runs) for runs in grouped.values()) / len(grouped)


def opt_at_estimate(grouped: Mapping[str, Sequence[Row]], k: int) -> float:
    """Opt@k estimated with the unbiased pass@k estimator, averaged over tasks."""
    if not grouped:
        return 0.0
    total = sum(
        pass_at_k(len(runs), sum(succeeded(r) for r in runs), k) for runs in grouped.values()
    )
    return total / len(grouped)


@dataclass(frozen=True)
class SwePerf:
    apply: float
    correctness: float
    performance: float
    per_k: list[dict[str, float]] = field(default_factory=list)


def swe_perf(grouped: Mapping[str, Sequence[Row]], k_max: int) -> SwePerf:
    """SWE-Perf's three rates for each run index, and their means over the indices."""
    n_tasks = len(grouped)
    per_k = []
    for k in range(k_max):
        runs = [r for rows in grouped.values() for r in rows if int(r["k"]) == k]
        good = [r for r in runs if correct(r)]
        per_k.append(
            {
                "k": float(k),
                "apply": sum(applied(r) for r in runs) / n_tasks if n_tasks else 0.0,
                "correctness": len(good) / n_tasks if n_tasks else 0.0,
                "performance": (
                    sum(float(r.get("delta") or 0.0) for r in good) / n_tasks if n_tasks else 0.0
                ),
            }
        )
    if not per_k:
        return SwePerf(0.0, 0.0, 0.0)
    return SwePerf(
        apply=statistics.fmean(p["apply"] for p in per_k),
        correctness=statistics.fmean(p["correctness"] for p in per_k),
        performance=statistics.fmean(p["performance"] for p in per_k),
        per_k=per_k,
    )


def swe_perf_filter(values: Sequence[float]) -> list[float]:
    """SWE-Perf's outlier rule: keep values within [Q1 − IQR, Q3 + IQR]."""
    data = np.asarray(values, dtype=float)
    q1, q3 = np.percentile(data, 25), np.percentile(data, 75)
    iqr = q3 - q1
    kept = data[(data >= q1 - iqr) & (data <= q3 + iqr)]
    return [float(v) for v in kept]


def swe_perf_delta(base: Sequence[float], patched: Sequence[float]) -> float:
    """The largest x on the grid 0, 0.001, … ≤ 1 such that every grid point up to x has
    base·(1−x) significantly greater than ``patched`` (one-sided Mann–Whitney, p < 0.1);
    0 when even x = 0 is not significant. Outliers are dropped first (``swe_perf_filter``)."""
    b = np.asarray(swe_perf_filter(base), dtype=float)
    h = np.asarray(swe_perf_filter(patched), dtype=float)
    best = 0.0
    steps = round(SWE_PERF_MAX / SWE_PERF_STEP)
    for i in range(steps + 1):
        x = i * SWE_PERF_STEP
        p = float(stats.mannwhitneyu(b * (1 - x), h, alternative="greater").pvalue)
        if not p < SWE_PERF_P:
            break
        best = x
    return best


@dataclass(frozen=True)
class SpeedupRatio:
    """SWE-fficiency's aggregate: harmonic mean over tasks of each run's SR."""

    value: float | None  # mean over run indices of the per-index harmonic mean
    per_k: list[float | None]
    tasks: int  # tasks scored
    without_expert: list[str]  # tasks left out: no expert speedup was measured


def run_speedup_ratio(row: Row | None, expert: float) -> float:
    """One run's SR: its speedup if correct (no speedup otherwise) / the expert's speedup."""
    mine = row.get("speedup") if row is not None and correct(row) else None
    return float(mine if isinstance(mine, int | float) and mine > 0 else 1.0) / expert


def _task_expert(runs: Sequence[Row]) -> float | None:
    experts = [
        float(r["expert_speedup"])
        for r in runs
        if isinstance(r.get("expert_speedup"), int | float) and r["expert_speedup"] > 0
    ]
    return statistics.median(experts) if experts else None


def speedup_ratio(grouped: Mapping[str, Sequence[Row]], k_max: int) -> SpeedupRatio:
    experts = {task: _task_expert(runs) for task, runs in grouped.items()}
    scored = {task: e for task, e in experts.items() if e is not None}
    per_k: list[float | None] = []
    for k in range(k_max):
        ratios = []
        for task, task_expert in scored.items():
            row = next((r for r in grouped[task] if int(r["k"]) == k), None)
            own = row.get("expert_speedup") if row is not None else None
            expert = float(own) if isinstance(own, int | float) and own > 0 else task_expert
            ratios.append(run_speedup_ratio(row, expert))
        per_k.append(stats.hmean(ratios).item() if ratios else None)
    values = [v for v in per_k if v is not None]
    return SpeedupRatio(
        value=statistics.fmean(values) if values else None,
        per_k=per_k,
        tasks=len(scored),
        without_expert=sorted(t for t, e in experts.items() if e is None),
    )


AGREE_WITHIN = 0.15  # measured / published, for published speedups up to AGREE_LARGE
AGREE_WITHIN_LARGE = 0.5
AGREE_LARGE = 10.0


def reference_agreement(
    measured: float | None, published: float | None
) -> tuple[float | None, bool | None]:
    """measured / published and whether that is within the tolerance (None: nothing to say)."""
    if not isinstance(measured, int | float) or not isinstance(published, int | float):
        return None, None
    if measured <= 0 or published <= 0 or not math.isfinite(measured):
        return None, None
    ratio = float(measured) / float(published)
    tolerance = AGREE_WITHIN if published <= AGREE_LARGE else AGREE_WITHIN_LARGE
    return ratio, abs(ratio - 1.0) <= tolerance


@dataclass(frozen=True)
class OracleAgreement:
    with_reference: int  # oracle rows of tasks with a published speedup
    measured: int  # ... of which a measurement finished
    agree: int

    def to_json(self) -> dict[str, int]:
        return vars(self).copy()


def oracle_agreement(oracle: Iterable[Row]) -> OracleAgreement:
    rows = [r for r in oracle if isinstance(r.get("reference_speedup"), int | float)]
    measured = [r for r in rows if r.get("reference_agrees") is not None]
    return OracleAgreement(
        with_reference=len(rows),
        measured=len(measured),
        agree=sum(r.get("reference_agrees") is True for r in measured),
    )


def delta_from_ci(ci: Sequence[float] | None) -> float | None:
    """A conservative stand-in for δ when raw times are missing: the runtime reduction at
    the lower end of the speedup's 95 % interval, 1 − 1/lo, clipped to [0, 1]."""
    if not ci or ci[0] is None or ci[0] <= 0:
        return None
    return min(max(1.0 - 1.0 / float(ci[0]), 0.0), SWE_PERF_MAX)


def expert_share(row: Row) -> float | None:
    """The run's final speedup (1 when nothing was kept) over the expert's speedup."""
    expert = row.get("expert_speedup")
    if row.get("status") != "done" or not isinstance(expert, int | float) or expert <= 0:
        return None
    mine = row.get("speedup") if applied(row) else None
    return float(mine if isinstance(mine, int | float) else 1.0) / float(expert)


def _mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


@dataclass(frozen=True)
class TaskSummary:
    task: str
    runs: int
    done: int
    successes: int  # runs meeting GSO's criterion
    opt_at_1: float  # c / n
    verdicts: list[str | None]
    best_speedup: float | None
    expert_speedup: float | None  # median over runs
    mean_cost: float | None
    mean_wall: float | None


@dataclass(frozen=True)
class BatchMetrics:
    tasks: int
    k: int
    runs: int  # rows counted (≤ tasks · k)
    done: int
    failed: int
    opt_at_k: float
    opt_at: dict[int, float]  # estimated Opt@k for k = 1 … K
    swe_perf: SwePerf
    speedup_ratio: SpeedupRatio
    expert_shares: list[float]
    median_expert_share: float | None
    flagged: int  # done runs whose final patch carries reward-hack flags
    total_cost: float
    mean_cost_per_task: float | None  # total cost / tasks with runs
    mean_wall_per_run: float | None
    mean_wall_per_task: float | None  # summed over a task's runs, averaged over tasks
    per_task: list[TaskSummary]
    # Σ over runs of each part of the wall time: sessions, profiler, model, overhead (other)
    time_split: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "tasks": self.tasks,
            "k": self.k,
            "runs": self.runs,
            "done": self.done,
            "failed": self.failed,
            "opt_at_k": self.opt_at_k,
            "opt_at": {str(k): v for k, v in self.opt_at.items()},
            "swe_perf": {
                "apply": self.swe_perf.apply,
                "correctness": self.swe_perf.correctness,
                "performance": self.swe_perf.performance,
                "per_k": self.swe_perf.per_k,
            },
            "swefficiency_speedup_ratio": {
                "value": self.speedup_ratio.value,
                "per_k": self.speedup_ratio.per_k,
                "tasks": self.speedup_ratio.tasks,
                "without_expert": self.speedup_ratio.without_expert,
            },
            "expert_shares": self.expert_shares,
            "median_expert_share": self.median_expert_share,
            "flagged": self.flagged,
            "total_cost": self.total_cost,
            "mean_cost_per_task": self.mean_cost_per_task,
            "mean_wall_per_run": self.mean_wall_per_run,
            "mean_wall_per_task": self.mean_wall_per_task,
            "per_task": [vars(t) for t in self.per_task],
            "time_split": self.time_split,
        }


def _task_summary(task: str, runs: Sequence[Row]) -> TaskSummary:
    done = [r for r in runs if r.get("status") == "done"]
    speedups = [float(r["speedup"]) for r in done if applied(r) and r.get("speedup") is not None]
    experts = [float(r["expert_speedup"]) for r in done if r.get("expert_speedup") is not None]
    successes = sum(succeeded(r) for r in runs)
    return TaskSummary(
        task=task,
        runs=len(runs),
        done=len(done),
        successes=successes,
        opt_at_1=pass_at_k(len(runs), successes, 1),
        verdicts=[r.get("verdict") for r in runs],
        best_speedup=max(speedups) if speedups else None,
        expert_speedup=_median(experts),
        mean_cost=_mean([float(r.get("cost_usd") or 0.0) for r in runs]),
        mean_wall=_mean([float(r.get("wall_s") or 0.0) for r in runs]),
    )


def compute(rows: Iterable[Row], tasks: Sequence[str], k: int) -> BatchMetrics:
    """Every metric of a batch of ``tasks`` × ``k`` runs from its results rows."""
    grouped = by_task(rows, tasks, k)
    flat = [r for runs in grouped.values() for r in runs]
    shares = [s for s in (expert_share(r) for r in flat) if s is not None]
    with_runs = [runs for runs in grouped.values() if runs]
    total_cost = sum(float(r.get("cost_usd") or 0.0) for r in flat)
    return BatchMetrics(
        tasks=len(grouped),
        k=k,
        runs=len(flat),
        done=sum(r.get("status") == "done" for r in flat),
        failed=sum(r.get("status") != "done" for r in flat),
        opt_at_k=opt_at_k(grouped),
        opt_at={j: opt_at_estimate(grouped, j) for j in range(1, k + 1)},
        swe_perf=swe_perf(grouped, k),
        speedup_ratio=speedup_ratio(grouped, k),
        expert_shares=shares,
        median_expert_share=_median(shares),
        flagged=sum(bool(r.get("flags")) for r in flat if r.get("status") == "done"),
        total_cost=total_cost,
        mean_cost_per_task=total_cost / len(with_runs) if with_runs else None,
        mean_wall_per_run=_mean([float(r.get("wall_s") or 0.0) for r in flat]),
        mean_wall_per_task=_mean(
            [sum(float(r.get("wall_s") or 0.0) for r in runs) for runs in with_runs]
        ),
        per_task=[_task_summary(t, runs) for t, runs in grouped.items()],
        time_split=time_split(flat),
    )


def time_split(rows: Iterable[Row]) -> dict[str, float]:
    """The runs' wall time summed, and its parts (rows without a split count as wall only)."""
    keys = (
        *("wall_s", "session_s", "profile_s", "model_s", "overhead_s"),
        *("lab_other_s", "prepare_s", "agent_s"),
    )
    return {key: sum(float((r.get("timing") or {}).get(key) or 0.0) for r in rows) for key in keys}
