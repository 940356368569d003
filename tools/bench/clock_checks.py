"""Whether a timing report can be true: the driver's reported calls against the wall time
the parent saw, per process and across a variant's processes. A clock patched inside the
process (out of the guard's sight) shortens the reported calls but not the process."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from perfagent.tools.bench.workloads import Sample

# Slack for comparing the driver's monotonic timestamps with the parent's own (both read
# CLOCK_MONOTONIC; the parent's window encloses the process, so only rounding is allowed).
_CLOCK_SLACK_NS = 1_000_000
_MIN_CLAIM_S = 0.005  # savings below this are not checked against the wall time


def wall_clock_error(
    calls: Sequence[float], clock: dict[str, int] | None, window_ns: tuple[int, int]
) -> str | None:
    """Why a process's timing report cannot be true, or None when it can: the sum of the
    times it reports (any number of calls) must fit in the wall time the parent saw for the
    process, and the driver's own start and end on the monotonic clock must lie inside that
    window. A patched clock that reports less than the calls took fails here."""
    started, ended = window_ns
    wall_s = (ended - started) / 1e9
    if sum(calls) > wall_s + _CLOCK_SLACK_NS / 1e9:
        return (
            f"timing report inconsistent with the wall clock: calls sum to {sum(calls):.6f} s "
            f"in a process that ran {wall_s:.6f} s"
        )
    if clock is None:
        return "timing report inconsistent with the wall clock: the driver sent no clock"
    start, end = clock.get("start_ns", 0), clock.get("end_ns", 0)
    inside = started - _CLOCK_SLACK_NS <= start <= end <= ended + _CLOCK_SLACK_NS
    if not inside or sum(calls) > (end - start) / 1e9 + _CLOCK_SLACK_NS / 1e9:
        return (
            "timing report inconsistent with the wall clock: the driver's clock read "
            f"{(end - start) / 1e9:.6f} s from start to end, outside the parent's "
            f"{wall_s:.6f} s window (is the clock patched?)"
        )
    return None


def claimed_saving_error(base: Sequence[Sample], variant: Sequence[Sample]) -> str | None:
    """Why a variant's timings cannot be true across its processes, or None. The time its
    calls claim to save per process (median timed seconds, base minus variant) must show in
    the wall time of its processes: a clock patched inside the process (out of the guard's
    sight) shortens the reported calls but not the process. More than half the claimed
    saving missing from the wall time, beyond three standard errors, is an error."""
    pairs_b = [(s.timed_s, s.wall_s) for s in base if s.error is None and s.wall_s > 0]
    pairs_v = [(s.timed_s, s.wall_s) for s in variant if s.error is None and s.wall_s > 0]
    if len(pairs_b) < 3 or len(pairs_v) < 3:
        return None
    claimed = statistics.median(c for c, _ in pairs_b) - statistics.median(c for c, _ in pairs_v)
    walls_b, walls_v = [w for _, w in pairs_b], [w for _, w in pairs_v]
    seen = statistics.median(walls_b) - statistics.median(walls_v)
    spread = max(_robust_sd(walls_b), _robust_sd(walls_v))
    stderr = 1.25 * spread * (1 / len(walls_b) + 1 / len(walls_v)) ** 0.5
    if claimed <= _MIN_CLAIM_S or seen >= claimed / 2 - 3 * stderr:
        return None
    return (
        f"timing report inconsistent with the wall clock: calls claim {claimed * 1e3:.1f} ms "
        f"saved per process, but its processes took {seen * 1e3:.1f} ms less than base's"
    )


def _robust_sd(values: Sequence[float]) -> float:
    middle = statistics.median(values)
    return 1.4826 * statistics.median(abs(v - middle) for v in values)
