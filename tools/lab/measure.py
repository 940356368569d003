"""``measure``: base vs expert and/or a candidate, interleaved, with tests and equivalence."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from perfagent.tools import runner
from perfagent.tools.bench import stats
from perfagent.tools.bench.clock_checks import claimed_saving_error
from perfagent.tools.bench.session import SessionConfig, run_session
from perfagent.tools.bench.workloads import Metric, Sample, Variant, WorkloadRunner
from perfagent.tools.edit.paths import is_protected, protected_patterns
from perfagent.tools.errors import BaselineError, MeasurementError, TaskSpecError
from perfagent.tools.lab.first_call import first_call_flags
from perfagent.tools.lab.outputs import OutputTracker
from perfagent.tools.lab.prepared import PreparedTask, prepare_task, task_limits
from perfagent.tools.lab.report import (
    MeasureReport,
    TestResult,
    WorkloadResult,
)
from perfagent.tools.lab.results import (
    gso_criterion,
    machine_facts,
    memory_flags,
    overall_verdict,
    workload_result,
)
from perfagent.tools.progress import Progress, SamplingRound, StageStarted, ignore
from perfagent.tools.pyenv import TaskEnvironment
from perfagent.tools.taskspec import Task, WorkloadSpec


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
    # Units per value already calibrated for this task's workloads (label → loops), so every
    # measurement of one task times the same loops; a workload not named here is calibrated
    # on base by its first run.
    loops: dict[str, int] = field(default_factory=dict)


def measure(
    task: Task,
    options: MeasureOptions,
    progress: Progress | None = None,
    *,
    prepared: PreparedTask | None = None,
) -> MeasureReport:
    """Build every tree, check base, then measure each workload in one interleaved session.

    With ``prepared`` (the agent's run), its clone, venv and trees are used and kept;
    otherwise a workspace is prepared for this call and removed after it."""
    say = progress or ignore
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
    limits = task_limits(task)
    with prepare_task(
        task, prepared=prepared, workdir_parent=options.workdir_parent, say=say
    ) as prep:
        variants, flags = _make_variants(task, prep, options)
        for variant in variants.values():
            say(StageStarted("build", f"building {variant.name}"))
            prep.build(variant.tree)
        say(StageStarted("tests", "running tests"))
        tests = run_tests(
            task,
            prep.env,
            variants,
            limits,
            options.allow_failing_base_tests,
            known=options.known_tests,
            cache=prep,
        )
        workloads = []
        for index, spec in enumerate(task.workloads(hidden=options.hidden)):
            hidden = index > 0
            label = f"{spec.label}{' (hidden)' if hidden else ''}"
            say(StageStarted("measure", f"measuring workload {label}"))
            workloads.append(
                _measure_workload(task, spec, hidden, prep, variants, options, limits, say)
            )
    report = _assemble(task, options, variants, workloads, tests, flags, time.monotonic() - started)
    report.isolation = asdict(runner.isolation_facts(prep.env.isolation))
    return report


def _make_variants(
    task: Task, prep: PreparedTask, options: MeasureOptions
) -> tuple[dict[str, Variant], list[str]]:
    kept = [("base patch", options.base_patch or "")]
    variants = {"base": Variant("base", prep.tree(kept))}
    flags: list[str] = []
    if options.expert and task.spec.expert is not None:
        if task.spec.expert.commit is not None:
            tree = prep.tree(commit=task.spec.expert.commit)
        else:
            patch_path = task.expert_patch_path(prep.repo_dir)
            assert patch_path is not None
            tree = prep.tree([("expert patch", patch_path.read_text(encoding="utf-8"))])
        variants["expert"] = Variant("expert", tree)
    if options.candidate_patch is not None:
        tree = prep.tree([*kept, ("candidate patch", options.candidate_patch)])
        variants["candidate"] = Variant("candidate", tree)
        flags.extend(_protected_path_flags(task, prep, tree))
    return variants, flags


def _protected_path_flags(task: Task, prep: PreparedTask, tree: Path) -> list[str]:
    changed = [line[6:] for line in prep.diff(tree).splitlines() if line.startswith("+++ b/")]
    patterns = protected_patterns(task)
    return [
        f"candidate modifies a protected file: {p}" for p in changed if is_protected(p, patterns)
    ]


def run_tests(
    task: Task,
    env: TaskEnvironment,
    variants: dict[str, Variant],
    limits: runner.Limits,
    allow_failing: bool,
    known: dict[str, list[TestResult]] | None = None,
    cache: PreparedTask | None = None,
) -> dict[str, list[TestResult]]:
    """Each test command on each variant; a result known for the same tree (``known`` from
    the caller, or ``cache`` by tree content) is reused, not run again."""
    results: dict[str, list[TestResult]] = {}
    commands = list(task.spec.tests)
    for name, variant in variants.items():
        results[name] = []
        prior = {t.command: t for t in (known or {}).get(name, [])}
        for command in commands:
            reuse = prior.get(command) or (
                cache.known_test(variant.tree, command) if cache else None
            )
            if reuse is not None:
                results[name].append(replace(reuse, reused=True))
                continue
            run = runner.run(
                command,
                cwd=variant.tree,
                env=env.variables(variant.tree),
                limits=limits,
                sandbox=env.sandbox(variant.tree),
            )
            result = TestResult(command, run.ok, run.summary())
            if cache is not None:
                cache.remember_test(variant.tree, result)
            results[name].append(result)
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
    prep: PreparedTask,
    variants: dict[str, Variant],
    options: MeasureOptions,
    limits: runner.Limits,
    say: Progress,
) -> WorkloadResult:
    field_name = "workload.file" if not hidden else "hidden_workloads[].file"
    file = task.resolve_file(spec.file, prep.repo_dir, field_name) if spec.file else None
    workload_runner = WorkloadRunner(
        spec,
        file,
        prep.env,
        prep.scratch(spec.label),
        limits=limits,
        cpus=options.cpus,
        metric=options.metric,
        loops=options.loops.get(spec.label),
    )
    # One untimed base run first (it calibrates loops): a crash here is the user's to fix.
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
                "setup pins one tree; install dependencies only)",
                variant=name,
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
            on_round=lambda n, s, c: say(_sampling_round(spec.label, n, s, c, options.session)),
        )
    except MeasurementError as exc:
        if exc.variant == "base":
            raise BaselineError(f"workload {spec.label!r} fails on base: {exc}") from exc
        raise MeasurementError(f"workload {spec.label!r}: {exc}", variant=exc.variant) from exc
    for name in others:
        problem = claimed_saving_error(result.samples["base"], result.samples[name])
        if problem is not None:  # an error, not a speedup (reported as not equivalent)
            tracker.failures.setdefault(name, problem)
    return workload_result(spec, hidden, result, tracker, workload_runner.loops)


def _sampling_round(
    label: str,
    runs: int,
    elapsed_s: float,
    comparisons: dict[str, stats.Comparison],
    config: SessionConfig,
) -> SamplingRound:
    return SamplingRound(
        workload=label,
        runs=runs,
        max_runs=config.max_runs,
        elapsed_s=elapsed_s,
        max_time_s=config.max_time_s,
        speedups={name: c.speedup for name, c in comparisons.items()},
    )


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
    flags.extend(memory_flags(subject, workloads))
    flags.extend(first_call_flags(subject, workloads))
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
        overall=overall_verdict(subject, workloads),
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
