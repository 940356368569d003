"""Batch metrics on hand-made results rows: every expected number worked out by hand."""

from __future__ import annotations

import itertools
import statistics
from typing import Any

import pytest

from perfagent.agent.batch.metrics import (
    by_task,
    compute,
    delta_from_ci,
    expert_share,
    opt_at_estimate,
    opt_at_k,
    oracle_agreement,
    pass_at_k,
    reference_agreement,
    run_speedup_ratio,
    swe_perf,
    swe_perf_delta,
    swe_perf_filter,
)


def row(task: str, k: int, **facts: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "task": task,
        "k": k,
        "status": "done",
        "applied": True,
        "speedup": None,
        "verdict": "faster",
        "equivalent": True,
        "tests_passed": True,
        "expert_speedup": None,
        "gso_opt": False,
        "delta": None,
        "flags": [],
        "cost_usd": 0.0,
        "wall_s": 0.0,
    }
    return {**base, **facts}


# Four tasks, K = 3. A: three runs, two meet GSO's criterion. B: three runs, none does (the
# last failed). C: only its first run so far, a success. D: no run at all.
ROWS = [
    row("B", 0, applied=True, gso_opt=True),  # superseded by the later line for (B, 0)
    row("A", 0, speedup=2.0, expert_speedup=2.0, gso_opt=True, delta=0.5,
        cost_usd=0.01, wall_s=10),
    row("A", 1, speedup=1.5, expert_speedup=2.0, equivalent=False, delta=0.3,
        cost_usd=0.02, wall_s=20),
    row("A", 2, speedup=3.0, expert_speedup=2.0, tests_passed=None, gso_opt=True, delta=0.4,
        flags=["guard: input special-casing"], cost_usd=0.03, wall_s=30),
    row("B", 0, applied=False, verdict=None, equivalent=None, tests_passed=None,
        expert_speedup=4.0, cost_usd=0.0, wall_s=40),
    row("B", 1, speedup=1.2, expert_speedup=4.0, tests_passed=False, delta=0.2,
        cost_usd=0.1, wall_s=50),
    row("B", 2, status="failed", applied=False, verdict=None, cost_usd=0.2, wall_s=60),
    row("C", 0, speedup=5.0, expert_speedup=5.0, gso_opt=True, delta=0.6,
        cost_usd=0.05, wall_s=70),
    row("A", 3, gso_opt=True, cost_usd=9.0),  # beyond K: not part of this batch
]  # fmt: skip
TASKS = ["A", "B", "C", "D"]


def test_pass_at_k_is_the_unbiased_estimator() -> None:
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(5, 2, 2) == pytest.approx(1 - 3 / 10)  # 1 − C(3,2)/C(5,2)
    assert pass_at_k(4, 0, 2) == 0.0
    assert pass_at_k(3, 3, 2) == 1.0
    assert pass_at_k(3, 1, 3) == 1.0
    assert pass_at_k(0, 0, 1) == 0.0
    assert pass_at_k(1, 1, 2) == 1.0  # fewer runs than k: all of them


@pytest.mark.parametrize(("n", "c", "k"), [(5, 2, 1), (5, 2, 2), (6, 1, 3), (4, 3, 2)])
def test_estimator_is_the_expectation_of_gsos_shuffled_first_k(n: int, c: int, k: int) -> None:
    """GSO estimates Opt@k by shuffling each task's runs and asking whether one of the first
    k succeeded; over every order of the runs that mean is exactly the estimator."""
    outcomes = [True] * c + [False] * (n - c)
    orders = list(itertools.permutations(outcomes))
    exact = sum(any(order[:k]) for order in orders) / len(orders)
    assert pass_at_k(n, c, k) == pytest.approx(exact)


def test_rows_are_grouped_by_task_keeping_the_last_line_within_k() -> None:
    grouped = by_task(ROWS, TASKS, 3)
    assert {t: [r["k"] for r in runs] for t, runs in grouped.items()} == {
        "A": [0, 1, 2],
        "B": [0, 1, 2],
        "C": [0],
        "D": [],
    }
    assert grouped["B"][0]["applied"] is False  # the later (B, 0) line won


def test_opt_at_k_observed_and_estimated() -> None:
    grouped = by_task(ROWS, TASKS, 3)
    assert opt_at_k(grouped) == 2 / 4  # A and C
    # Opt@1: A 2/3, B 0, C 1/1, D 0 (no runs count as failures).
    assert opt_at_estimate(grouped, 1) == pytest.approx((2 / 3 + 1) / 4)
    # Opt@2: A 1 − C(1,2)/C(3,2) = 1, C has one run (uses it) = 1.
    assert opt_at_estimate(grouped, 2) == pytest.approx(2 / 4)
    assert opt_at_estimate(grouped, 3) == pytest.approx(opt_at_k(grouped))


def test_swe_perf_apply_correctness_performance_per_run_index() -> None:
    result = swe_perf(by_task(ROWS, TASKS, 3), 3)
    # k=0: applied A, C (B kept nothing); both correct; δ 0.5 + 0.6.
    # k=1: applied A (outputs differ), B (tests fail); none correct.
    # k=2: applied A (no tests: not failing), correct, δ 0.4; B failed.
    assert result.per_k == [
        {"k": 0.0, "apply": 0.5, "correctness": 0.5, "performance": pytest.approx(1.1 / 4)},
        {"k": 1.0, "apply": 0.5, "correctness": 0.0, "performance": 0.0},
        {"k": 2.0, "apply": 0.25, "correctness": 0.25, "performance": pytest.approx(0.1)},
    ]
    assert result.apply == pytest.approx(1.25 / 3)
    assert result.correctness == pytest.approx(0.25)
    assert result.performance == pytest.approx(0.125)


def test_expert_share_counts_a_run_that_kept_nothing_as_speedup_one() -> None:
    assert expert_share(row("A", 0, speedup=1.5, expert_speedup=2.0)) == 0.75
    assert expert_share(row("B", 0, applied=False, expert_speedup=4.0)) == 0.25
    assert expert_share(row("B", 2, status="failed", expert_speedup=4.0)) is None
    assert expert_share(row("C", 0, speedup=2.0)) is None  # no expert measured


def test_compute_every_metric() -> None:
    m = compute(ROWS, TASKS, 3)
    assert (m.tasks, m.k, m.runs, m.done, m.failed) == (4, 3, 7, 6, 1)
    assert m.opt_at_k == 0.5
    assert m.opt_at == {
        1: pytest.approx(5 / 12),
        2: pytest.approx(0.5),
        3: pytest.approx(0.5),
    }
    assert m.expert_shares == [1.0, 0.75, 1.5, 0.25, 0.3, 1.0]
    assert m.median_expert_share == pytest.approx(0.875)
    assert m.flagged == 1
    assert m.total_cost == pytest.approx(0.41)
    assert m.mean_cost_per_task == pytest.approx(0.41 / 3)  # D has no runs yet
    assert m.mean_wall_per_run == pytest.approx(40.0)
    assert m.mean_wall_per_task == pytest.approx((60 + 150 + 70) / 3)
    a, b, c, d = m.per_task
    assert (a.task, a.runs, a.done, a.successes) == ("A", 3, 3, 2)
    assert a.opt_at_1 == pytest.approx(2 / 3)
    assert (a.best_speedup, a.expert_speedup) == (3.0, 2.0)
    assert a.mean_cost == pytest.approx(0.02) and a.mean_wall == pytest.approx(20.0)
    assert b.verdicts == [None, "faster", None] and b.best_speedup == 1.2
    assert (c.successes, c.opt_at_1) == (1, 1.0)
    assert (d.runs, d.best_speedup, d.mean_cost) == (0, None, None)
    assert m.to_json()["opt_at"] == {"1": pytest.approx(5 / 12), "2": 0.5, "3": 0.5}


def test_swe_perf_outlier_filter_keeps_q1_minus_iqr_to_q3_plus_iqr() -> None:
    # Q1 = 2, Q3 = 4, IQR = 2: the bounds are [0, 6].
    assert swe_perf_filter([1, 2, 3, 4, 100]) == [1.0, 2.0, 3.0, 4.0]
    assert swe_perf_filter([5.0, 5.0, 5.0]) == [5.0, 5.0, 5.0]


def test_swe_perf_delta_is_the_largest_significant_runtime_reduction() -> None:
    head = [1.000, 1.011, 1.023, 1.032, 1.046]
    base = [2.000, 2.021, 2.043, 2.062, 2.087]

    def u(x: float) -> int:  # pairs where base·(1 − x) is still slower than the patch
        return sum(b * (1 - x) > h for b in base for h in head)

    # With five runs each, the one-sided exact test has p < 0.1 iff U ≥ 20 of 25
    # (P(U ≥ 20) = 19/252 = 0.075, P(U ≥ 19) = 28/252 = 0.111).
    assert (u(0.489), u(0.490)) == (20, 19)
    assert swe_perf_delta(base, head) == pytest.approx(0.489)
    # No significant gain at all: δ = 0.
    assert swe_perf_delta([1.0, 1.1, 1.2, 1.3, 1.4], [1.0, 1.1, 1.2, 1.3, 1.4]) == 0.0


def test_delta_from_ci_is_the_reduction_at_the_lower_bound() -> None:
    assert delta_from_ci([2.0, 3.0]) == 0.5
    assert delta_from_ci([0.8, 1.2]) == 0.0
    assert delta_from_ci(None) is None


def test_swefficiency_speedup_ratio_counts_failed_and_incorrect_runs_as_no_speedup() -> None:
    m = compute(ROWS, TASKS, 3)
    sr = m.speedup_ratio
    # k=0: A 2.0/2.0, B kept nothing 1/4, C 5/5 → hmean(1, .25, 1) = 0.5
    # k=1: A not equivalent 1/2, B tests fail 1/4, C missing 1/5 → hmean(.5, .25, .2) = 0.3
    # k=2: A tests unknown (not failed) 3/2, B failed (borrows B's expert 4) 1/4, C 1/5
    assert sr.per_k == [
        pytest.approx(0.5),
        pytest.approx(3 / (2 + 4 + 5)),
        pytest.approx(3 / (1 / 1.5 + 4 + 5)),
    ]
    assert sr.value == pytest.approx(statistics.fmean(p for p in sr.per_k if p is not None))
    assert (sr.tasks, sr.without_expert) == (3, ["D"])
    assert m.to_json()["swefficiency_speedup_ratio"]["tasks"] == 3


def test_run_speedup_ratio_of_a_correct_slower_run_is_below_one_over_the_expert() -> None:
    assert run_speedup_ratio(row("A", 0, speedup=0.5), 2.0) == 0.25
    assert run_speedup_ratio(None, 4.0) == 0.25


@pytest.mark.parametrize(
    ("measured", "published", "agrees"),
    [
        (9.0, 10.0, True),  # 0.90
        (8.4, 10.0, False),  # 0.84: beyond ±15 %
        (11.5, 10.0, True),
        (2.7, 10.0, False),  # number=5 measured as number=1
        (110.0, 240.0, False),  # 0.46: beyond ±50 %
        (150.0, 240.0, True),  # 0.625
        (45.0, 240.0, False),  # setup() called though the script never calls it
        (None, 2.0, None),
        (2.0, None, None),
    ],
)
def test_reference_agreement_tolerance(
    measured: float | None, published: float | None, agrees: bool | None
) -> None:
    ratio, verdict = reference_agreement(measured, published)
    assert verdict is agrees
    if agrees is not None:
        assert ratio == pytest.approx(measured / published)  # type: ignore[operator]


def test_oracle_agreement_counts_only_rows_with_a_published_speedup() -> None:
    rows = [
        {"reference_speedup": 2.0, "reference_agrees": True},
        {"reference_speedup": 3.0, "reference_agrees": False},
        {"reference_speedup": 3.0, "reference_agrees": None},  # measurement failed
        {"reference_speedup": None},
    ]
    assert oracle_agreement(rows).to_json() == {"with_reference": 3, "measured": 2, "agree": 1}
