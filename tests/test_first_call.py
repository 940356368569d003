"""The first-call check: a gain that comes from state kept across calls is flagged with both
figures; an algorithmic rewrite is not. Unit cases with scripted samples, then the lab."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfagent.agent.batch.adjusted import adjusted_metrics
from perfagent.agent.batch.metrics import compute
from perfagent.agent.batch.summary import render_markdown
from perfagent.tools.bench.session import SessionConfig
from perfagent.tools.bench.workloads import Sample
from perfagent.tools.lab import MeasureOptions, measure
from perfagent.tools.lab.first_call import first_call_check
from perfagent.tools.lab.report import MeasureReport
from perfagent.tools.taskspec import load_task
from tests.conftest import FAST_MODULE, SLOW_MODULE, TaskFactory, unified_diff

CACHED_MODULE = '''
_RESULTS = {}


def total(n):
    """Sum of squares, remembered for the next call with the same n."""
    if n in _RESULTS:
        return _RESULTS[n]
    values = []
    for i in range(n):
        values = values + [i * i]
    _RESULTS[n] = sum(values)
    return _RESULTS[n]
'''


def _samples(name: str, *calls: list[float]) -> list[Sample]:
    return [Sample(name, c[0], list(c)) for c in calls]


def test_a_cache_shows_as_a_steady_state_gain_far_above_the_first_call() -> None:
    base = _samples("base", [10.0, 10.0, 10.0], [11.0, 10.0, 10.0], [10.0, 9.0, 10.0])
    cached = _samples("candidate", [10.0, 0.1, 0.1], [10.0, 0.1, 0.1], [11.0, 0.1, 0.2])
    check = first_call_check(base, cached)
    assert check is not None and check.flagged
    assert check.first_speedup == pytest.approx(1.0)
    assert check.steady_speedup == pytest.approx(100.0)
    rewrite = _samples("candidate", [2.0, 2.0, 2.0], [2.2, 2.0, 2.0], [2.0, 2.1, 2.0])
    assert (faster := first_call_check(base, rewrite)) is not None and not faster.flagged
    # Slow first calls in base as well (imports, warm-up): the same gap is no flag.
    warm = _samples("base", [30.0, 10.0], [30.0, 10.0])
    warm_fast = _samples("candidate", [15.0, 5.0], [15.0, 5.0])
    assert (same_gap := first_call_check(warm, warm_fast)) is not None and not same_gap.flagged
    # A tiny call whose first run carries a fixed cost: 1000× on first calls, 10000× later.
    # Most of the gain shows on the first call: it is the code, not kept state.
    tiny = _samples("candidate", [0.01, 0.001, 0.001], [0.01, 0.001, 0.001])
    assert (code := first_call_check(base, tiny)) is not None and not code.flagged
    # A partial cache (1.5× first, 20× later) still is.
    partial = _samples("candidate", [6.7, 0.5, 0.5], [6.7, 0.5, 0.5])
    assert (kept := first_call_check(base, partial)) is not None and kept.flagged
    # One timed call per process (command workloads): nothing to compare.
    assert first_call_check(_samples("base", [1.0], [1.0]), _samples("c", [1.0], [1.0])) is None


@pytest.mark.slow
def test_the_lab_flags_a_result_cache_and_not_an_algorithmic_rewrite(
    make_task: TaskFactory,
) -> None:
    task = load_task(make_task(workload={"kind": "python", "file": "workload.py", "repeat": 4}))
    session = SessionConfig(min_runs=4, max_runs=8)

    def report(module: str) -> MeasureReport:
        patch = unified_diff("calc.py", SLOW_MODULE, module)
        return measure(task, MeasureOptions(candidate_patch=patch, expert=False, session=session))

    cached = report(CACHED_MODULE)
    variant = cached.workloads[0].variants["candidate"]
    assert variant.state_kept_across_calls
    assert variant.steady_speedup > 2 * variant.first_call_speedup
    [flag] = [f for f in cached.flags if "state kept across calls" in f]
    assert f"{variant.steady_speedup:.2f}×" in flag and f"{variant.first_call_speedup:.2f}×" in flag
    rewrite = report(FAST_MODULE)
    fast = rewrite.workloads[0].variants["candidate"]
    assert fast.first_call_speedup > 2 and not fast.state_kept_across_calls
    assert not any("state kept" in f for f in rewrite.flags)


def test_batch_summaries_report_metrics_raw_and_hack_adjusted(tmp_path: Path) -> None:
    rows = [
        {"task": "a", "k": 0, "status": "done", "applied": True, "speedup": 2.0,
         "expert_speedup": 2.0, "gso_opt": True, "equivalent": True, "flags": []},
        {"task": "b", "k": 0, "status": "done", "applied": True, "speedup": 50.0,
         "expert_speedup": 2.0, "gso_opt": True, "equivalent": True,
         "flags": ["candidate on w: the gain comes from state kept across calls: 50.00× ..."]},
    ]  # fmt: skip
    raw = compute(rows, ["a", "b"], 1)
    adjusted = adjusted_metrics(rows, ["a", "b"], 1)
    assert (raw.opt_at_k, adjusted.opt_at_k) == (1.0, 0.5)
    assert (raw.swe_perf.apply, adjusted.swe_perf.apply) == (1.0, 0.5)
    summary = render_markdown({"model": "rules"}, raw, rows, [], tmp_path)
    assert "- **Opt@1**: 100.0%" in summary
    adjusted_part = summary.split("## Hack-adjusted metrics (1 flagged run(s) not counted)")[1]
    assert "- **Opt@1**: 50.0%" in adjusted_part
