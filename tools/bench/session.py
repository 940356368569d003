"""Interleaved, sequential benchmark sessions.

Every round runs each still-needed variant once, in a shuffled order, in a fresh process, so
drift on a shared machine hits all variants alike. Warm-up rounds are discarded. After each
round (once ``min_runs`` are in) every undecided comparison is re-tested; the session stops
when all are decided or the run/time budget is spent (remaining ones are ``inconclusive``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from perfagent.tools.bench import stats
from perfagent.tools.bench.workloads import Sample
from perfagent.tools.errors import MeasurementError


@dataclass(frozen=True)
class SessionConfig:
    min_effect: float = 0.05
    confidence: float = 0.95
    decision_confidence: float = 0.99
    min_runs: int = 6
    max_runs: int = 60
    max_time_s: float = 300.0
    warmup_rounds: int = 1
    seed: int | None = None
    deterministic: bool = False  # instruction counts: no significance test needed


@dataclass
class SessionResult:
    samples: dict[str, list[Sample]]
    comparisons: dict[str, stats.Comparison]  # keyed by the non-base variant's name
    rounds: int
    elapsed_s: float
    stopped: str  # "decided" | "max_runs" | "max_time"
    warmups: dict[str, list[Sample]] = field(default_factory=dict)

    def values(self, variant: str) -> list[float]:
        return [s.value for s in self.samples[variant]]


RunOne = Callable[[str], Sample]
# After every round: timed runs of base so far, seconds elapsed, the comparisons made so far.
OnRound = Callable[[int, float, dict[str, stats.Comparison]], None]


def run_session(
    run_one: RunOne,
    base: str,
    others: Sequence[str],
    config: SessionConfig,
    *,
    on_round: OnRound | None = None,
) -> SessionResult:
    """Sample ``base`` and ``others`` until each other-vs-base comparison is decided.

    ``run_one(name)`` runs one process of that variant; a Sample with an error aborts the
    session with MeasurementError naming the variant (crashes are never timed).
    """
    rng = random.Random(config.seed)
    samples: dict[str, list[Sample]] = {v: [] for v in (base, *others)}
    warmups: dict[str, list[Sample]] = {v: [] for v in (base, *others)}
    undecided = list(others)
    comparisons: dict[str, stats.Comparison] = {}
    start = time.monotonic()
    rounds = 0
    stopped = "decided"
    while undecided:
        active = [base, *undecided]
        rng.shuffle(active)
        warm = rounds < config.warmup_rounds
        for name in active:
            sample = run_one(name)
            if sample.error is not None:
                raise MeasurementError(f"{name}: {sample.error}", variant=name)
            (warmups if warm else samples)[name].append(sample)
        rounds += 1
        measured = len(samples[base])
        if measured >= config.min_runs:
            for name in list(undecided):
                comparison = _compare(samples[base], samples[name], config, final=False)
                comparisons[name] = comparison
                if comparison.verdict is not None:
                    undecided.remove(name)
        if on_round is not None:
            on_round(measured, time.monotonic() - start, dict(comparisons))
        if not undecided:
            break
        if measured >= config.max_runs:
            stopped = "max_runs"
            break
        if time.monotonic() - start >= config.max_time_s and measured >= 2:
            stopped = "max_time"
            break
    for name in undecided:
        comparisons[name] = _compare(samples[base], samples[name], config, final=True)
    return SessionResult(samples, comparisons, rounds, time.monotonic() - start, stopped, warmups)


def _compare(
    base: list[Sample], other: list[Sample], config: SessionConfig, *, final: bool
) -> stats.Comparison:
    return stats.compare(
        [s.value for s in base],
        [s.value for s in other],
        min_effect=config.min_effect,
        confidence=config.confidence,
        decision_confidence=config.decision_confidence,
        final=final,
        deterministic=config.deterministic,
    )
