"""Calibration: how trustworthy are verdicts on *this* machine, right now?

A synthetic workload with a known effect is measured by the real harness (fresh processes,
interleaving, sequential verdicts). A/A trials (two identical trees) give the false-accept
rate; A/B trials (one tree does 1/(1+effect) of the work) give the power; their A/A samples
give the noise, from which the smallest effect verifiable in a minute follows.
"""

from __future__ import annotations

import math
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats as sstats

from perfagent.tools import runner
from perfagent.tools.bench.session import SessionConfig, run_session
from perfagent.tools.bench.workloads import Variant, WorkloadRunner
from perfagent.tools.pyenv import TaskEnvironment
from perfagent.tools.taskspec import WorkloadSpec
from perfagent.tools.workspace import Workspace

_MODULE = '''"""Synthetic CPU-bound work with a tunable amount."""

ITERATIONS = {iterations}


def spin(n: int) -> int:
    total = 0
    for i in range(n):
        total += (i * i) % 7
    return total
'''
_WORKLOAD = """import synthetic


def workload():
    return synthetic.spin(synthetic.ITERATIONS) > 0
"""
_PROBE_ITERATIONS = 200_000


@dataclass
class CalibrationResult:
    effect: float
    min_effect: float
    trials: int
    false_accept_rate: float
    false_claim_rate: float  # A/A called faster *or* slower
    false_accept_upper95: float  # one-sided 95 % Clopper–Pearson bound on the rate
    power: float
    power_lower95: float
    aa_verdicts: dict[str, int]
    ab_verdicts: dict[str, int]
    median_runs: float  # runs per variant until a verdict, over all trials
    median_seconds: float  # seconds per verdict
    noise_sigma: float  # robust SD of log per-process times
    runs_per_minute: float  # per variant, two variants interleaved
    min_detectable_effect: float  # smallest effect verified `faster` in 60 s with 95 % power
    call_ms: float
    elapsed_s: float
    config: dict[str, Any] = field(default_factory=dict)


def smallest_verifiable_effect(
    sigma: float, runs: float, min_effect: float, decision_confidence: float, power: float = 0.95
) -> float:
    """Smallest true effect that gets ``faster`` with ``runs`` per variant and ``power``:
    the interval must exclude 1 *and* the estimate must reach 1+δ."""
    se = sigma * math.sqrt(2 / max(runs, 2)) * math.sqrt(math.pi / 3)  # HL efficiency
    z_power = sstats.norm.ppf(power)
    significant = (sstats.norm.ppf(1 - (1 - decision_confidence) / 2) + z_power) * se
    reaches_delta = math.log1p(min_effect) + z_power * se
    return math.expm1(max(significant, reaches_delta))


def calibrate(
    *,
    effect: float = 0.05,
    min_effect: float = 0.05,
    trials: int | None = None,
    budget_s: float = 300.0,
    call_ms: float = 15.0,
    repeat: int = 3,
    session: SessionConfig | None = None,
    cpus: frozenset[int] | None = None,
    progress: Callable[[str], None] | None = None,
) -> CalibrationResult:
    say = progress or (lambda _msg: None)
    config = replace(session or SessionConfig(), min_effect=min_effect, max_time_s=60.0)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="perfagent-calibrate-") as tmp:
        source = Path(tmp) / "synthetic"
        source.mkdir()
        (source / "synthetic.py").write_text(_MODULE.format(iterations=_PROBE_ITERATIONS))
        workload_file = Path(tmp) / "workload.py"
        workload_file.write_text(_WORKLOAD)
        with Workspace(source) as ws:
            env = TaskEnvironment(ws.root / "venv")
            env.create()
            spec = WorkloadSpec(kind="python", file=str(workload_file), repeat=repeat)
            wl = WorkloadRunner(
                spec,
                workload_file,
                env,
                ws.root / "scratch",
                limits=runner.Limits(timeout_s=120),
                cpus=cpus,
            )
            base = Variant("base", ws.base_tree)
            probe = [wl.run(base) for _ in range(3)]
            per_iteration = statistics.median(s.value for s in probe) / _PROBE_ITERATIONS
            iterations = max(1000, round(call_ms / 1000 / per_iteration))
            say(f"synthetic call: {iterations} iterations ≈ {call_ms:.0f} ms")
            trees = {"base": base}
            for name, n in (
                ("same", iterations),
                ("faster", round(iterations / (1 + effect))),
                ("base", iterations),
            ):
                tree = ws.base_tree if name == "base" else ws.add_tree(name)
                (tree / "synthetic.py").write_text(_MODULE.format(iterations=n))
                trees[name] = Variant(name, tree)
            # The probe calibrated loops for its own size: calibrate again for the real one.
            wl.loops = None
            wl.run(base)
            say(f"loops per value: {wl.loops}")
            return _run_trials(
                wl, trees, config, effect, min_effect, trials, budget_s, started, iterations, say
            )


def _run_trials(
    wl: WorkloadRunner,
    trees: dict[str, Variant],
    config: SessionConfig,
    effect: float,
    min_effect: float,
    trials: int | None,
    budget_s: float,
    started: float,
    iterations: int,
    say: Callable[[str], None],
) -> CalibrationResult:
    aa: Counter[str] = Counter()
    ab: Counter[str] = Counter()
    runs: list[int] = []
    seconds: list[float] = []
    aa_logs: list[float] = []
    process_s: list[float] = []
    call_s: list[float] = []

    def run_one(name: str) -> Any:
        t0 = time.monotonic()
        sample = wl.run(trees[name])
        process_s.append(time.monotonic() - t0)
        call_s.append(sample.value)
        return sample

    trial = 0
    loop_started = time.monotonic()
    while trial < (trials if trials is not None else 10**6):
        for other, counter in (("same", aa), ("faster", ab)):
            result = run_session(run_one, "base", [other], replace(config, seed=trial))
            verdict = result.comparisons[other].verdict
            assert verdict is not None
            counter[verdict] += 1
            runs.append(len(result.samples["base"]))
            seconds.append(result.elapsed_s)
            if other == "same":
                values = np.log(result.values("base") + result.values("same"))
                aa_logs.extend(values - np.median(values))
        trial += 1
        elapsed = time.monotonic() - started
        say(f"trial {trial}: A/A {dict(aa)}  A/B {dict(ab)}  ({elapsed:.0f} s)")
        if trials is None and trial >= 3:
            # Stop before the next trial would overrun the budget.
            per_trial = (time.monotonic() - loop_started) / trial
            if elapsed + per_trial > budget_s:
                break
    sigma = float(sstats.median_abs_deviation(aa_logs, scale="normal"))
    per_process = statistics.median(process_s)
    runs_per_minute = 60.0 / (2 * per_process)
    return CalibrationResult(
        effect=effect,
        min_effect=min_effect,
        trials=trial,
        false_accept_rate=aa["faster"] / trial,
        false_claim_rate=(aa["faster"] + aa["slower"]) / trial,
        false_accept_upper95=_upper_bound(aa["faster"], trial),
        power=ab["faster"] / trial,
        power_lower95=1 - _upper_bound(trial - ab["faster"], trial),
        aa_verdicts=dict(aa),
        ab_verdicts=dict(ab),
        median_runs=float(statistics.median(runs)),
        median_seconds=statistics.median(seconds),
        noise_sigma=sigma,
        runs_per_minute=runs_per_minute,
        min_detectable_effect=smallest_verifiable_effect(
            sigma, runs_per_minute, min_effect, config.decision_confidence
        ),
        call_ms=statistics.median(call_s) * 1000,
        elapsed_s=time.monotonic() - started,
        config={
            "min_runs": config.min_runs,
            "max_runs": config.max_runs,
            "decision_confidence": config.decision_confidence,
            "warmup_rounds": config.warmup_rounds,
            "repeat": wl.spec.repeat,
            "loops": wl.loops,
            "iterations": iterations,
        },
    )


def _upper_bound(events: int, trials: int) -> float:
    """One-sided 95 % Clopper–Pearson upper bound for a binomial rate."""
    if events >= trials:
        return 1.0
    return float(sstats.beta.ppf(0.95, events + 1, trials - events))
