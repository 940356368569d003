from __future__ import annotations

import math

import numpy as np
import pytest

from perfagent.tools.bench import stats


def lognormal(rng: np.random.Generator, n: int, scale: float, sigma: float = 0.03) -> list[float]:
    return list(scale * np.exp(rng.normal(0, sigma, n)))


def test_large_effect_is_faster_with_ci_excluding_one() -> None:
    rng = np.random.default_rng(7)
    result = stats.compare(lognormal(rng, 12, 1.0), lognormal(rng, 12, 1 / 1.5))
    assert result.verdict == "faster"
    assert result.ci[0] > 1.3 and result.ci[1] < 1.7
    assert result.ci[0] <= result.speedup <= result.ci[1]
    assert result.decision_ci[0] <= result.ci[0] and result.decision_ci[1] >= result.ci[1]
    assert result.p_value < 0.001


def test_slowdown_is_slower() -> None:
    rng = np.random.default_rng(8)
    result = stats.compare(lognormal(rng, 12, 1.0), lognormal(rng, 12, 1.3))
    assert result.verdict == "slower"
    assert result.ci[1] < 1


def test_identical_distributions_end_same() -> None:
    rng = np.random.default_rng(9)
    result = stats.compare(lognormal(rng, 30, 1.0, 0.01), lognormal(rng, 30, 1.0, 0.01))
    assert result.verdict == "same"


def test_small_noisy_sample_is_undecided_until_final() -> None:
    rng = np.random.default_rng(10)
    base, cand = lognormal(rng, 4, 1.0, 0.2), lognormal(rng, 4, 1.0, 0.2)
    assert stats.compare(base, cand).verdict is None
    assert stats.compare(base, cand, final=True).verdict == "inconclusive"


def test_significant_but_below_min_effect_is_not_faster() -> None:
    rng = np.random.default_rng(11)
    result = stats.compare(lognormal(rng, 60, 1.0, 0.005), lognormal(rng, 60, 1 / 1.02, 0.005))
    assert result.ci[0] > 1  # a real 2 % gain ...
    assert result.verdict == "same"  # ... is inside the 5 % band of no interest


def test_deterministic_counts_have_a_point_interval() -> None:
    result = stats.compare([1000.0, 1000.0], [500.0, 500.0])
    assert result.speedup == 2.0
    assert result.ci == (2.0, 2.0)
    assert result.verdict == "faster"
    assert stats.compare([1000.0, 1000.0], [1010.0, 1010.0]).verdict == "same"


def test_hodges_lehmann_is_median_of_pairwise_differences() -> None:
    a = np.log(np.array([1.0, 2.0, 4.0]))
    b = np.log(np.array([1.0, 2.0]))
    diffs = sorted(x - y for x in a for y in b)
    assert math.isclose(float(stats.hodges_lehmann(a, b)), float(np.median(diffs)))


def test_decide_rule_boundaries() -> None:
    assert stats.decide(1.06, (1.01, 1.10), 0.001, min_effect=0.05, alpha=0.01) == "faster"
    assert stats.decide(1.04, (1.01, 1.07), 0.001, min_effect=0.05, alpha=0.01) is None
    assert stats.decide(1.06, (1.01, 1.10), 0.02, min_effect=0.05, alpha=0.01) is None
    assert stats.decide(1.0, (0.97, 1.04), 0.5, min_effect=0.05, alpha=0.01) == "same"
    assert stats.decide(0.90, (0.85, 0.94), 0.001, min_effect=0.05, alpha=0.01) == "slower"


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        stats.compare([1.0], [1.0, 2.0])
    with pytest.raises(ValueError):
        stats.compare([1.0, 0.0], [1.0, 2.0])


def test_power_formulas_are_inverse() -> None:
    runs = stats.required_runs(0.03, 0.10)
    assert math.isclose(stats.detectable_effect(0.03, runs), 0.10, rel_tol=1e-9)
