"""From sessions to report parts: a workload's result, the overall verdict over workloads,
GSO's success test, memory flags and the machine's facts (the pure half of ``measure``)."""

from __future__ import annotations

import os
import platform
import statistics
import sys
from typing import Any

from perfagent.tools import runner
from perfagent.tools.bench import instructions, stats
from perfagent.tools.bench.session import SessionResult
from perfagent.tools.bench.workloads import Sample
from perfagent.tools.lab.first_call import first_call_check
from perfagent.tools.lab.outputs import OutputTracker
from perfagent.tools.lab.report import ProcessTiming, VariantResult, WorkloadResult
from perfagent.tools.taskspec import WorkloadSpec

MEMORY_GROWTH_RATIO = 1.25  # flag a candidate whose peak memory grows by this much ...
MEMORY_GROWTH_MIN_KB = 16 * 1024  # ... and by at least this many KiB
GSO_MIN_SPEEDUP = 1.2
GSO_MIN_EXPERT_SHARE = 0.95


def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def _processes(samples: list[Sample]) -> list[ProcessTiming]:
    return [ProcessTiming(s.loops, s.warmups, s.calls) for s in samples]


def workload_result(
    spec: WorkloadSpec,
    hidden: bool,
    result: SessionResult,
    tracker: OutputTracker,
    loops: int | None,
) -> WorkloadResult:
    base = result.samples["base"]
    out = WorkloadResult(
        name=spec.label,
        kind=spec.kind,
        hidden=hidden,
        base_median=median(result.values("base")),
        base_runs=len(base),
        base_max_rss_kb=int(median([s.max_rss_kb for s in base])),
        rounds=result.rounds,
        elapsed_s=result.elapsed_s,
        stopped=result.stopped,
        base_values=result.values("base"),
        base_processes=_processes(base),
        loops=loops if spec.kind in ("python", "gso") else None,
        timing=spec.timing.model_dump() if spec.kind in ("python", "gso") else {},
    )
    for name, comparison in result.comparisons.items():
        samples = result.samples[name]
        assert comparison.verdict is not None
        equivalent, detail = tracker.verdict(name)
        out.variants[name] = VariantResult(
            speedup=comparison.speedup,
            ci=comparison.ci,
            verdict=comparison.verdict,
            p_value=comparison.p_value,
            ratio_of_medians=comparison.ratio_of_medians,
            runs=len(samples),
            median=median(result.values(name)),
            max_rss_kb=int(median([s.max_rss_kb for s in samples])),
            equivalent=equivalent,
            equivalence_detail=detail,
            values=result.values(name),
            processes=_processes(samples),
        )
        check = first_call_check(base, samples)
        if check is not None:
            v = out.variants[name]
            v.first_call_speedup, v.steady_speedup = check.first_speedup, check.steady_speedup
            v.base_first_call_gap, v.state_kept_across_calls = check.base_gap, check.flagged
    return out


def overall_verdict(subject: str, workloads: list[WorkloadResult]) -> dict[str, Any]:
    verdicts = {w.variants[subject].verdict for w in workloads}
    if "slower" in verdicts:
        combined = "slower"
    elif len(verdicts) == 1:
        combined = verdicts.pop()  # all faster, all the same, or all inconclusive
    else:
        combined = "mixed"
    rows: list[dict[str, Any]] = [
        {
            "workload": w.name,
            "hidden": w.hidden,
            "speedup": w.variants[subject].speedup,
            "ci": list(w.variants[subject].ci),
            "verdict": w.variants[subject].verdict,
            "expert_speedup": w.variants["expert"].speedup if "expert" in w.variants else None,
        }
        for w in workloads
    ]
    return {
        "workloads": len(workloads),
        "verdict": combined,
        "geomean_speedup": stats.geometric_mean([row["speedup"] for row in rows]),
        # A headline names the workload that gained least, so a mean cannot hide a loss.
        "worst": min(rows, key=lambda row: row["speedup"]),
        "per_workload": rows,
    }


def gso_criterion(workloads: list[WorkloadResult]) -> dict[str, Any]:
    """GSO's success test: geometric-mean speedup over base ≥ 1.2 and harmonic mean of
    expert-time / candidate-time ratios > 0.95 (the candidate keeps ≥95 % of the expert)."""
    speedups = [w.variants["candidate"].speedup for w in workloads]
    shares = [w.variants["candidate"].speedup / w.variants["expert"].speedup for w in workloads]
    gm = stats.geometric_mean(speedups)
    hm = stats.harmonic_mean(shares)
    return {
        "gm_speedup": gm,
        "hm_expert_share": hm,
        "per_workload": [
            {"name": w.name, "speedup": s, "expert_share": r}
            for w, s, r in zip(workloads, speedups, shares, strict=True)
        ],
        "passed": gm >= GSO_MIN_SPEEDUP and hm > GSO_MIN_EXPERT_SHARE,
    }


def memory_flags(subject: str, workloads: list[WorkloadResult]) -> list[str]:
    flags = []
    for w in workloads:
        mine = w.variants[subject].max_rss_kb
        if (
            mine > w.base_max_rss_kb * MEMORY_GROWTH_RATIO
            and mine - w.base_max_rss_kb > MEMORY_GROWTH_MIN_KB
        ):
            flags.append(
                f"{subject} peak memory on {w.name}: {mine // 1024} MiB vs "
                f"{w.base_max_rss_kb // 1024} MiB on base"
            )
    return flags


def machine_facts() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_avg": list(os.getloadavg()),
        "instruction_counter": instructions.backend(),
        "network_isolation": runner.network_isolation_available(),
    }
