"""Whether a timing report or an output can be true: checks the parent makes on what a
workload process reports about itself.

The process runs code nobody reviewed, so its report is a claim. ``wall_clock_error`` holds
one process's report against the wall time the parent saw for it; ``claimed_saving_error``
holds the saving a variant's calls claim against the wall time of its processes; either
failing is an error, not a speedup. ``first_difference`` finds where two whole outputs differ
and shows a capped excerpt.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from pathlib import Path
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
    calls claim to save per process (median summed calls, base minus variant) must show in
    the wall time of its processes: a clock patched inside the process (out of the guard's
    sight) shortens the reported calls but not the process. More than half the claimed
    saving missing from the wall time, beyond three standard errors, is an error."""
    pairs_b = [(sum(s.calls), s.wall_s) for s in base if s.error is None and s.wall_s > 0]
    pairs_v = [(sum(s.calls), s.wall_s) for s in variant if s.error is None and s.wall_s > 0]
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


_EXCERPT_CHARS = 160


def first_difference(expected: Path, actual: Path) -> str | None:
    """Where two outputs first differ, as one line with a capped excerpt of each side, or
    None when they are the same. Streams both files: outputs may be large."""
    with expected.open("rb") as left, actual.open("rb") as right:
        for number, (want, got) in enumerate(itertools.zip_longest(left, right), start=1):
            if want != got:
                return (
                    f"stdout differs from base's at line {number}: expected "
                    f"{_excerpt(want)}, got {_excerpt(got)}"
                )
    return None


def _excerpt(line: bytes | None) -> str:
    if line is None:
        return "end of output"
    text = line.decode("utf-8", errors="replace").rstrip("\n")
    return repr(text if len(text) <= _EXCERPT_CHARS else text[:_EXCERPT_CHARS] + "…")


def _robust_sd(values: Sequence[float]) -> float:
    middle = statistics.median(values)
    return 1.4826 * statistics.median(abs(v - middle) for v in values)
