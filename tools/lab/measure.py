"""``measure``: base vs expert and/or a candidate, interleaved, with tests and equivalence."""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from perfagent.tools import runner
from perfagent.tools.bench import instructions, stats
from perfagent.tools.bench.session import SessionConfig, SessionResult, run_session
from perfagent.tools.bench.workloads import Metric, Sample, Variant, WorkloadRunner
from perfagent.tools.errors import BaselineError, MeasurementError, TaskSpecError
from perfagent.tools.lab.outputs import OutputTracker
from perfagent.tools.lab.report import MeasureReport, TestResult, VariantResult, WorkloadResult
from perfagent.tools.pyenv import TaskEnvironment
from perfagent.tools.taskspec import Task, WorkloadSpec
from perfagent.tools.workspace import Workspace

MEMORY_GROWTH_RATIO = 1.25  # flag a candidate whose peak memory grows by this much ...
MEMORY_GROWTH_MIN_KB = 16 * 1024  # ... and by at least this many KiB
GSO_MIN_SPEEDUP = 1.2
GSO_MIN_EXPERT_SHARE = 0.95

Progress = Callable[[str], None]


@dataclass
class MeasureOptions:
    candidate_patch: str | None = None
    # Applied to base and candidate alike: the agent measures a new edit against the edits it
    # has already kept. The expert (a change to the original base) cannot be combined with it.
    base_patch: str | None = None
    expert: bool = False
    metric: Metric = "time"
    session: SessionConfig = field(default_factory=SessionConfig)
    hidden: bool = True
    cpus: frozenset[int] | None = None
    allow_failing_base_tests: bool = False
    workdir_parent: Path | None = None
    # Test results already known for a variant's exact tree (variant name → results): those
    # commands are not run again. The lab never guesses this; the caller vouches for it.
    known_tests: dict[str, list[TestResult]] = field(default_factory=dict)


def measure(task: Task, options: MeasureOptions, progress: Progress | None = None) -> MeasureReport:
    """Build every tree, check base, then measure each workload in one interleaved session."""
    say = progress or (lambda _msg: None)
    if options.candidate_patch is None and not options.expert:
        raise TaskSpecError("nothing to compare: give a candidate patch, or --expert")
    if options.expert and task.spec.expert is None:
        raise TaskSpecError(f"{task.path}: expert: this task has no expert patch or commit")
    if options.expert and options.base_patch:
        raise TaskSpecError("the expert is compared with the original base: drop the base patch")
    if options.metric == "instructions":
        options.session = SessionConfig(
            **{
                **asdict(options.session),
                "min_runs": 2,
                "max_runs": 3,
                "warmup_rounds": 0,
                "deterministic": True,
            }
        )
    started = time.monotonic()
    limits = runner.Limits(
        timeout_s=task.spec.limits.timeout_s, memory_mb=task.spec.limits.memory_mb
    )
    say(f"preparing workspace for {task.id}")
    with Workspace(task.repo_location(), task.spec.ref, parent=options.workdir_parent) as ws:
        env = TaskEnvironment(ws.root / "venv", python=task.spec.python, limits=limits)
        env.create()
        say("running setup")
        env.setup(task.spec.setup, ws.base_tree)
        variants, flags = _make_variants(task, ws, options)
        for variant in variants.values():
            say(f"building {variant.name}")
            env.build(task.spec.build, variant.tree)
        say("running tests")
        tests = run_tests(
            task,
            env,
            variants,
            limits,
            options.allow_failing_base_tests,
            known=options.known_tests,
        )
        workloads = []
        for index, spec in enumerate(task.workloads(hidden=options.hidden)):
            hidden = index > 0
            say(f"measuring workload {spec.label}{' (hidden)' if hidden else ''}")
            workloads.append(
                _measure_workload(task, spec, hidden, ws, env, variants, options, limits, say)
            )
    return _assemble(task, options, variants, workloads, tests, flags, time.monotonic() - started)


def _make_variants(
    task: Task, ws: Workspace, options: MeasureOptions
) -> tuple[dict[str, Variant], list[str]]:
    variants = {"base": Variant("base", ws.base_tree)}
    flags: list[str] = []
    if options.base_patch:
        ws.apply_patch(ws.base_tree, options.base_patch, label="base patch")
    if options.expert and task.spec.expert is not None:
        if task.spec.expert.commit is not None:
            tree = ws.add_tree("expert", commit=task.spec.expert.commit)
        else:
            tree = ws.add_tree("expert")
            patch_path = task.expert_patch_path(ws.repo_dir)
            assert patch_path is not None
            ws.apply_patch(tree, patch_path.read_text(encoding="utf-8"), label="expert patch")
        variants["expert"] = Variant("expert", tree)
    if options.candidate_patch is not None:
        tree = ws.add_tree("candidate")
        if options.base_patch:
            ws.apply_patch(tree, options.base_patch, label="base patch")
        ws.apply_patch(tree, options.candidate_patch, label="candidate patch")
        variants["candidate"] = Variant("candidate", tree)
        flags.extend(_protected_path_flags(task, ws, tree))
    return variants, flags


def _protected_path_flags(task: Task, ws: Workspace, tree: Path) -> list[str]:
    changed = [line[6:] for line in ws.diff(tree).splitlines() if line.startswith("+++ b/")]
    workload_files = {w.file for w in task.workloads() if w.file}
    touched = [
        p
        for p in changed
        if p in workload_files
        or "test" in Path(p).parts[0].lower()
        or Path(p).name.startswith("test_")
        or Path(p).name.endswith("_test.py")
    ]
    return [f"candidate modifies a protected file: {p}" for p in touched]


def run_tests(
    task: Task,
    env: TaskEnvironment,
    variants: dict[str, Variant],
    limits: runner.Limits,
    allow_failing: bool,
    known: dict[str, list[TestResult]] | None = None,
) -> dict[str, list[TestResult]]:
    results: dict[str, list[TestResult]] = {}
    commands = list(task.spec.tests)
    for name, variant in variants.items():
        results[name] = []
        prior = {t.command: t for t in (known or {}).get(name, [])}
        for command in commands:
            if command in prior:
                results[name].append(replace(prior[command], reused=True))
                continue
            run = runner.run(
                command, cwd=variant.tree, env=env.variables(variant.tree), limits=limits
            )
            results[name].append(TestResult(command, run.ok, run.summary()))
        if name == "base":
            failing = [r for r in results["base"] if not r.passed]
            if failing and not allow_failing:
                raise BaselineError(
                    f"test command {failing[0].command!r} fails on base ({failing[0].summary})"
                )
            # Only tests that pass on base can judge a variant.
            commands = [r.command for r in results["base"] if r.passed]
    return results


def _measure_workload(
    task: Task,
    spec: WorkloadSpec,
    hidden: bool,
    ws: Workspace,
    env: TaskEnvironment,
    variants: dict[str, Variant],
    options: MeasureOptions,
    limits: runner.Limits,
    say: Progress,
) -> WorkloadResult:
    field_name = "workload.file" if not hidden else "hidden_workloads[].file"
    file = task.resolve_file(spec.file, ws.repo_dir, field_name) if spec.file else None
    workload_runner = WorkloadRunner(
        spec,
        file,
        env,
        ws.root / "scratch" / spec.label,
        limits=limits,
        cpus=options.cpus,
        metric=options.metric,
    )
    # One untimed base run first: a crash here is the user's to fix, not a measurement.
    first = workload_runner.run(variants["base"], store_reference=True)
    if first.error is not None:
        raise BaselineError(f"workload {spec.label!r} fails on base: {first.error}")
    tracker = OutputTracker(first)

    def run_one(name: str) -> Sample:
        sample = workload_runner.run(variants[name])
        if sample.foreign_imports:
            raise MeasurementError(
                f"{name} imported code from outside its own tree: "
                f"{sample.foreign_imports[0]} (an editable install in "
                "setup pins one tree; install dependencies only)"
            )
        if sample.error is None:
            tracker.observe(sample)
        elif name != "base":
            # A crashing variant is not equivalent; record it and stop timing it.
            tracker.observe(sample)
        return sample

    others = [n for n in variants if n != "base"]
    try:
        result = run_session(
            run_one,
            "base",
            others,
            options.session,
            on_round=lambda r, c: say(_round_text(spec.label, r, c)),
        )
    except MeasurementError as exc:
        failed = str(exc).split(":")[0]
        if failed == "base":
            raise BaselineError(f"workload {spec.label!r} fails on base: {exc}") from exc
        raise MeasurementError(f"workload {spec.label!r}: {exc}") from exc
    return _workload_result(spec, hidden, result, tracker)


def _round_text(label: str, rounds: int, comparisons: dict[str, stats.Comparison]) -> str:
    parts = [f"{n} {c.speedup:.3f}× [{c.ci[0]:.3f}, {c.ci[1]:.3f}]" for n, c in comparisons.items()]
    return f"{label}: round {rounds}: " + "; ".join(parts)


def _median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def _workload_result(
    spec: WorkloadSpec, hidden: bool, result: SessionResult, tracker: OutputTracker
) -> WorkloadResult:
    base = result.samples["base"]
    out = WorkloadResult(
        name=spec.label,
        kind=spec.kind,
        hidden=hidden,
        base_median=_median(result.values("base")),
        base_runs=len(base),
        base_max_rss_kb=int(_median([s.max_rss_kb for s in base])),
        rounds=result.rounds,
        elapsed_s=result.elapsed_s,
        stopped=result.stopped,
        base_values=result.values("base"),
    )
    for name, comparison in result.comparisons.items():
        samples = result.samples[name]
        assert comparison.verdict is not None
        equivalent, detail = tracker.verdict(name)
        out.variants[name] = VariantResult(
            speedup=comparison.speedup,
            ci=comparison.ci,
            verdict=comparison.verdict,
            p_value=comparison.p_value,
            ratio_of_medians=comparison.ratio_of_medians,
            runs=len(samples),
            median=_median(result.values(name)),
            max_rss_kb=int(_median([s.max_rss_kb for s in samples])),
            equivalent=equivalent,
            equivalence_detail=detail,
            values=result.values(name),
        )
    return out


def _assemble(
    task: Task,
    options: MeasureOptions,
    variants: dict[str, Variant],
    workloads: list[WorkloadResult],
    tests: dict[str, list[TestResult]],
    flags: list[str],
    elapsed: float,
) -> MeasureReport:
    subject = "candidate" if "candidate" in variants else "expert"
    primary = workloads[0].variants[subject]
    flags = list(flags)
    flags.extend(_memory_flags(subject, workloads))
    hidden = [w for w in workloads if w.hidden]
    if primary.verdict == "faster" and any(w.variants[subject].verdict != "faster" for w in hidden):
        flags.append(f"{subject} is faster on the visible workload but not on every hidden one")
    equivalences = [w.variants[subject].equivalent for w in workloads]
    equivalent = False if False in equivalences else None if None in equivalences else True
    subject_tests = tests.get(subject, [])
    report = MeasureReport(
        task=task.id,
        metric=options.metric,
        subject=subject,
        verdict=primary.verdict,
        speedup=primary.speedup,
        ci=primary.ci,
        runs=primary.runs,
        equivalent=equivalent,
        tests_passed=all(t.passed for t in subject_tests) if task.spec.tests else None,
        workloads=workloads,
        tests=tests,
        flags=flags,
        elapsed_s=elapsed,
        overall=_overall(subject, workloads),
        config={
            **asdict(options.session),
            "metric": options.metric,
            "hidden_workloads": options.hidden,
            "cpus": sorted(options.cpus) if options.cpus else None,
        },
        machine=machine_facts(),
    )
    if "expert" in variants:
        expert = workloads[0].variants["expert"]
        report.expert_speedup, report.expert_ci = expert.speedup, expert.ci
        report.expert_verdict = expert.verdict
        if subject == "candidate":
            report.gso = gso_criterion(workloads)
            report.gso_opt = bool(
                report.gso["passed"] and equivalent is True and report.tests_passed is not False
            )
    return report


def _overall(subject: str, workloads: list[WorkloadResult]) -> dict[str, Any]:
    verdicts = {w.variants[subject].verdict for w in workloads}
    if "slower" in verdicts:
        combined = "slower"
    elif len(verdicts) == 1:
        combined = verdicts.pop()  # all faster, all the same, or all inconclusive
    else:
        combined = "mixed"
    rows: list[dict[str, Any]] = [
        {
            "workload": w.name,
            "hidden": w.hidden,
            "speedup": w.variants[subject].speedup,
            "ci": list(w.variants[subject].ci),
            "verdict": w.variants[subject].verdict,
            "expert_speedup": w.variants["expert"].speedup if "expert" in w.variants else None,
        }
        for w in workloads
    ]
    return {
        "workloads": len(workloads),
        "verdict": combined,
        "geomean_speedup": stats.geometric_mean([row["speedup"] for row in rows]),
        # A headline names the workload that gained least, so a mean cannot hide a loss.
        "worst": min(rows, key=lambda row: row["speedup"]),
        "per_workload": rows,
    }


def gso_criterion(workloads: list[WorkloadResult]) -> dict[str, Any]:
    """GSO's success test: geometric-mean speedup over base ≥ 1.2 and harmonic mean of
    expert-time / candidate-time ratios > 0.95 (the candidate keeps ≥95 % of the expert)."""
    speedups = [w.variants["candidate"].speedup for w in workloads]
    shares = [w.variants["candidate"].speedup / w.variants["expert"].speedup for w in workloads]
    gm = stats.geometric_mean(speedups)
    hm = stats.harmonic_mean(shares)
    return {
        "gm_speedup": gm,
        "hm_expert_share": hm,
        "per_workload": [
            {"name": w.name, "speedup": s, "expert_share": r}
            for w, s, r in zip(workloads, speedups, shares, strict=True)
        ],
        "passed": gm >= GSO_MIN_SPEEDUP and hm > GSO_MIN_EXPERT_SHARE,
    }


def _memory_flags(subject: str, workloads: list[WorkloadResult]) -> list[str]:
    flags = []
    for w in workloads:
        mine = w.variants[subject].max_rss_kb
        if (
            mine > w.base_max_rss_kb * MEMORY_GROWTH_RATIO
            and mine - w.base_max_rss_kb > MEMORY_GROWTH_MIN_KB
        ):
            flags.append(
                f"{subject} peak memory on {w.name}: {mine // 1024} MiB vs "
                f"{w.base_max_rss_kb // 1024} MiB on base"
            )
    return flags


def machine_facts() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_avg": list(os.getloadavg()),
        "instruction_counter": instructions.backend(),
        "network_isolation": runner.network_isolation_available(),
    }
