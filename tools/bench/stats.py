"""Speedup statistics: an estimate, confidence intervals, a test, and a verdict rule.

Samples are per-process values (one fresh process is one independent observation).
The estimate is the Hodges–Lehmann shift on log times, i.e. the median of all pairwise
log-ratios, which is robust to the outliers a shared machine produces; ``speedup > 1``
means the candidate is faster. Intervals come from a percentile bootstrap (scipy), the
test is Mann–Whitney U.

Verdicts compare the interval with the minimum effect of interest δ:
``faster``  lower bound > 1, estimate ≥ 1+δ and U-test significant;
``slower``  upper bound < 1, estimate ≤ 1/(1+δ) and U-test significant;
``same``    interval inside [1/(1+δ), 1+δ];
otherwise undecided (``inconclusive`` once the budget is spent). Decisions use a stricter
interval than the reported 95 % one because a sequential session looks many times.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import stats

Verdict = Literal["faster", "slower", "same", "inconclusive"]
_MAX_PAIRS = 2_000_000  # bound memory of vectorised pairwise differences per batch


@dataclass(frozen=True)
class Comparison:
    """How ``candidate`` compares with ``base`` on one workload."""

    speedup: float  # Hodges–Lehmann estimate of base/candidate
    ci: tuple[float, float]  # reported interval (default 95 %)
    decision_ci: tuple[float, float]  # stricter interval the verdict rule used
    ratio_of_medians: float
    p_value: float  # two-sided Mann–Whitney U
    n_base: int
    n_candidate: int
    verdict: Verdict | None  # None: undecided, keep sampling


def hodges_lehmann(
    log_base: NDArray[np.float64], log_cand: NDArray[np.float64], axis: int = -1
) -> NDArray[np.float64]:
    """Median of all pairwise differences, vectorised over leading axes."""
    a = np.moveaxis(np.asarray(log_base), axis, -1)
    b = np.moveaxis(np.asarray(log_cand), axis, -1)
    diffs = a[..., :, None] - b[..., None, :]
    result: NDArray[np.float64] = np.median(diffs.reshape(*diffs.shape[:-2], -1), axis=-1)
    return result


def _bootstrap_distribution(
    log_base: NDArray[np.float64], log_cand: NDArray[np.float64], n_resamples: int, seed: int
) -> NDArray[np.float64]:
    pairs = len(log_base) * len(log_cand)
    batch = max(1, min(n_resamples, _MAX_PAIRS // max(pairs, 1)))
    result = stats.bootstrap(
        (log_base, log_cand),
        hodges_lehmann,
        n_resamples=n_resamples,
        batch=batch,
        vectorized=True,
        paired=False,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    distribution: NDArray[np.float64] = np.asarray(result.bootstrap_distribution)
    return distribution


def _interval(distribution: NDArray[np.float64], confidence: float) -> tuple[float, float]:
    tail = (1 - confidence) / 2
    lo, hi = np.quantile(distribution, [tail, 1 - tail])
    return math.exp(float(lo)), math.exp(float(hi))


def decide(
    speedup: float,
    interval: tuple[float, float],
    p_value: float,
    *,
    min_effect: float,
    alpha: float,
) -> Verdict | None:
    """The verdict rule; None means the evidence is not decisive yet."""
    lo, hi = interval
    upper = 1 + min_effect
    if lo > 1 and speedup >= upper and p_value < alpha:
        return "faster"
    if hi < 1 and speedup <= 1 / upper and p_value < alpha:
        return "slower"
    if lo >= 1 / upper and hi <= upper:
        return "same"
    return None


def compare(
    base: Sequence[float],
    candidate: Sequence[float],
    *,
    min_effect: float = 0.05,
    confidence: float = 0.95,
    decision_confidence: float = 0.99,
    n_resamples: int = 2000,
    seed: int = 0,
    final: bool = False,
    deterministic: bool = False,
) -> Comparison:
    """Compare per-process values of base and candidate (lower is better for both).

    ``deterministic`` metrics (instruction counts) vary only by a hair between runs: the
    interval is then the worst-case range of ratios and no significance test is needed.
    """
    b = np.asarray(base, dtype=float)
    c = np.asarray(candidate, dtype=float)
    if len(b) < 2 or len(c) < 2 or not (np.all(b > 0) and np.all(c > 0)):
        raise ValueError("need at least two positive values per variant")
    log_b, log_c = np.log(b), np.log(c)
    estimate = math.exp(float(hodges_lehmann(log_b, log_c)))
    ratio_of_medians = float(np.median(b) / np.median(c))
    if deterministic or (np.ptp(log_b) == 0 and np.ptp(log_c) == 0):
        ci = decision_ci = (float(b.min() / c.max()), float(b.max() / c.min()))
        p_value = 0.0 if ci[0] > 1 or ci[1] < 1 else 1.0
    else:
        distribution = _bootstrap_distribution(log_b, log_c, n_resamples, seed)
        ci = _interval(distribution, confidence)
        decision_ci = _interval(distribution, decision_confidence)
        p_value = float(stats.mannwhitneyu(b, c, alternative="two-sided").pvalue)
    verdict = decide(
        estimate, decision_ci, p_value, min_effect=min_effect, alpha=1 - decision_confidence
    )
    if verdict is None and final:
        verdict = "inconclusive"
    return Comparison(estimate, ci, decision_ci, ratio_of_medians, p_value, len(b), len(c), verdict)


def geometric_mean(values: Sequence[float]) -> float:
    return float(stats.gmean(values))


def harmonic_mean(values: Sequence[float]) -> float:
    return float(stats.hmean(values))


def required_runs(
    sigma_log: float, effect: float, *, alpha: float = 0.01, power: float = 0.95
) -> float:
    """Runs per variant for a two-sample comparison of log times to detect ``effect``
    (normal approximation; the Mann–Whitney/HL route needs about 5 % more)."""
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    shift = math.log1p(effect)
    return float(2 * (z * sigma_log / shift) ** 2 * 1.05)


def detectable_effect(
    sigma_log: float, runs: float, *, alpha: float = 0.01, power: float = 0.95
) -> float:
    """Smallest relative effect detectable with ``runs`` per variant (inverse of above)."""
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return math.expm1(z * sigma_log * math.sqrt(2 * 1.05 / max(runs, 1)))
