"""The sequential session with a scripted sampler: statistics, not timing."""

from __future__ import annotations

import numpy as np
import pytest

from perfagent.tools.bench.session import SessionConfig, run_session
from perfagent.tools.bench.workloads import Sample
from perfagent.tools.errors import MeasurementError


def sampler(
    scales: dict[str, float], sigma: float = 0.03, seed: int = 0, calls: list[str] | None = None
):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)

    def run_one(name: str) -> Sample:
        if calls is not None:
            calls.append(name)
        return Sample(name, float(scales[name] * np.exp(rng.normal(0, sigma))))

    return run_one


def test_large_effects_stop_early_with_verdicts() -> None:
    config = SessionConfig(min_runs=6, max_runs=60, seed=1)
    result = run_session(
        sampler({"base": 1.0, "expert": 0.5, "candidate": 1.3}),
        "base",
        ["expert", "candidate"],
        config,
    )
    assert result.stopped == "decided"
    assert result.comparisons["expert"].verdict == "faster"
    assert result.comparisons["candidate"].verdict == "slower"
    assert len(result.samples["base"]) < 20


def test_warmups_discarded_and_order_interleaved() -> None:
    calls: list[str] = []
    config = SessionConfig(min_runs=6, warmup_rounds=2, seed=3)
    result = run_session(sampler({"base": 1.0, "b": 0.5}, calls=calls), "base", ["b"], config)
    assert len(result.warmups["base"]) == 2
    assert len(calls) == 2 * result.rounds
    rounds = [calls[i : i + 2] for i in range(0, len(calls), 2)]
    assert all(sorted(r) == ["b", "base"] for r in rounds)
    assert {tuple(r) for r in rounds} == {("b", "base"), ("base", "b")} or result.rounds < 4


def test_budget_ends_inconclusive() -> None:
    config = SessionConfig(min_runs=4, max_runs=8, seed=2)
    result = run_session(sampler({"base": 1.0, "b": 1 / 1.05}, sigma=0.3), "base", ["b"], config)
    assert result.stopped == "max_runs"
    assert result.comparisons["b"].verdict == "inconclusive"
    assert len(result.samples["base"]) == 8


def test_decided_variant_stops_being_sampled() -> None:
    calls: list[str] = []
    config = SessionConfig(min_runs=6, max_runs=30, seed=4)
    run_session(
        sampler({"base": 1.0, "fast": 0.3, "close": 1 / 1.04}, sigma=0.03, calls=calls),
        "base",
        ["fast", "close"],
        config,
    )
    assert calls.count("fast") < calls.count("close")


def test_crash_aborts_with_variant_name() -> None:
    def run_one(name: str) -> Sample:
        return Sample(name, 1.0, error="ZeroDivisionError: boom" if name == "b" else None)

    with pytest.raises(MeasurementError, match=r"^b: ZeroDivisionError: boom$"):
        run_session(run_one, "base", ["b"], SessionConfig(seed=0))


def test_aa_false_accepts_are_rare() -> None:
    """Many A/A sessions with realistic noise: almost none end 'faster'."""
    faster = 0
    for seed in range(200):
        result = run_session(
            sampler({"base": 1.0, "same": 1.0}, sigma=0.05, seed=seed),
            "base",
            ["same"],
            SessionConfig(seed=seed, max_runs=40),
        )
        faster += result.comparisons["same"].verdict == "faster"
    assert faster <= 2


def test_a_crashing_variant_is_named_in_a_field() -> None:
    """Callers decide who failed from ``variant``, never from the message's text."""

    def run_one(name: str) -> Sample:
        if name == "candidate":
            return Sample(name, 0.0, error="base: a message that starts like base's")
        return Sample(name, 1.0)

    with pytest.raises(MeasurementError) as info:
        run_session(run_one, "base", ["candidate"], SessionConfig(min_runs=3, seed=0))
    assert info.value.variant == "candidate"
