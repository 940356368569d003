"""The baseline check: before anything is optimised, base must build, pass its tests and run
every workload. A failure here is the user's to fix, so it raises ``BaselineError``."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from perfagent.tools.bench.workloads import Variant, WorkloadRunner
from perfagent.tools.errors import BaselineError
from perfagent.tools.lab.measure import run_tests
from perfagent.tools.lab.prepared import PreparedTask, prepare_task, task_limits
from perfagent.tools.lab.report import TestResult
from perfagent.tools.taskspec import Task


@dataclass
class WorkloadCheck:
    name: str
    hidden: bool
    seconds: float  # one run's timed value (a sanity figure, not a measurement)
    calls: int


@dataclass
class BaselineCheck:
    tests: list[TestResult] = field(default_factory=list)
    workloads: list[WorkloadCheck] = field(default_factory=list)
    elapsed_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def check_baseline(
    task: Task,
    *,
    base_patch: str | None = None,
    workdir_parent: Path | None = None,
    prepared: PreparedTask | None = None,
) -> BaselineCheck:
    """Build base (plus ``base_patch``), run its tests and each workload once."""
    started = time.monotonic()
    limits = task_limits(task)
    with prepare_task(task, prepared=prepared, workdir_parent=workdir_parent) as prep:
        base = Variant("base", prep.tree([("base patch", base_patch or "")]))
        prep.build(base.tree)
        tests = run_tests(task, prep.env, {"base": base}, limits, False, cache=prep)
        check = BaselineCheck(tests=tests["base"])
        for index, spec in enumerate(task.workloads()):
            field_name = "workload.file" if index == 0 else "hidden_workloads[].file"
            file = task.resolve_file(spec.file, prep.repo_dir, field_name) if spec.file else None
            workload = WorkloadRunner(spec, file, prep.env, prep.scratch(spec.label), limits=limits)
            sample = workload.run(base)
            if sample.error is not None:
                raise BaselineError(f"workload {spec.label!r} fails on base: {sample.error}")
            check.workloads.append(
                WorkloadCheck(spec.label, index > 0, sample.value, len(sample.calls))
            )
    check.elapsed_s = time.monotonic() - started
    return check
