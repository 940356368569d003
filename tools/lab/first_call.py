"""The first-call check: is a variant's gain measured, or kept across calls?

Every process of a session is fresh, and a python/gso workload calls the timed function
several times in it: the first call runs with nothing cached by an earlier one, the later
calls may reuse what the first left behind (a module-level result cache, a grown table).
For each variant the check compares base and the variant on first calls alone and on the
later calls alone. A variant whose steady-state speedup is far above its first-call speedup
gets a flag with both figures. Since

    steady / first = (variant's first-call time / its later calls) / (base's same ratio),

the flag fires only when the variant's gap between first and later calls is far larger than
base's: code that is slow on first calls in base too (imports, warm-up) does not trip it.
It also needs most of the gain to be missing from first calls (on a log scale: the first-call
speedup below the square root of the steady one): a variant that is already 3000× faster on
its first call and 20000× on later ones (a first call's fixed cost, µs, dominates a tiny
call) gets its gain from its code, not from state. Legitimate caches show it as well: the
flag is for a person to read, not a rejection.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from perfagent.tools.bench.workloads import Sample
from perfagent.tools.lab.report import WorkloadResult

# Steady-state speedup at least this many times the first-call speedup: "far above". A
# cache-free rewrite gives a ratio near 1 (noise of single first calls stays well within 2).
FAR_ABOVE = 2.0


@dataclass(frozen=True)
class FirstCall:
    first_speedup: float  # median base first call / median variant first call
    steady_speedup: float  # the same over each process's later calls (their medians)
    base_gap: float  # base's first call / its later calls

    @property
    def flagged(self) -> bool:
        steady, first = self.steady_speedup, self.first_speedup
        return steady >= FAR_ABOVE * first and first * first < steady


def _split(samples: Sequence[Sample]) -> tuple[list[float], list[float]]:
    """Each process's first call, and the median of its later calls (processes with no error
    and a first call apart from at least one later value). The driver times the first unit
    alone before its warm-up (``first_call``); samples without it use their first call."""
    firsts, laters = [], []
    for s in samples:
        if s.error is not None or not s.calls or min(s.calls) <= 0:
            continue
        if s.first_call is not None and s.first_call > 0:
            firsts.append(s.first_call)
            laters.append(statistics.median(s.calls))
        elif len(s.calls) >= 2:
            firsts.append(s.calls[0])
            laters.append(statistics.median(s.calls[1:]))
    return firsts, laters


def first_call_check(base: Sequence[Sample], variant: Sequence[Sample]) -> FirstCall | None:
    """None when either side has fewer than two processes with two timed calls (command and
    pytest workloads time one thing per process)."""
    base_first, base_later = _split(base)
    mine_first, mine_later = _split(variant)
    if min(len(base_first), len(mine_first)) < 2:
        return None
    bf, bl = statistics.median(base_first), statistics.median(base_later)
    mf, ml = statistics.median(mine_first), statistics.median(mine_later)
    return FirstCall(first_speedup=bf / mf, steady_speedup=bl / ml, base_gap=bf / bl)


def flag_text(variant: str, workload: str, check: FirstCall) -> str:
    return (
        f"{variant} on {workload}: the gain comes from state kept across calls: "
        f"{check.steady_speedup:.2f}× on later calls but {check.first_speedup:.2f}× on each "
        f"process's first call (base's first call takes {check.base_gap:.2f}× its later ones)"
    )


def first_call_flags(subject: str, workloads: Sequence[WorkloadResult]) -> list[str]:
    """The report's flags: one per workload where ``subject`` keeps state across calls."""
    flags = []
    for w in workloads:
        v = w.variants[subject]
        if v.state_kept_across_calls and v.first_call_speedup and v.steady_speedup:
            check = FirstCall(v.first_call_speedup, v.steady_speedup, v.base_first_call_gap or 0)
            flags.append(flag_text(subject, w.name, check))
    return flags
