"""The units of work a batch hands to its engine: one agent run, or one oracle measurement.

Jobs are plain picklable dataclasses and the functions that execute them are module-level,
so a process pool or a Dask worker on another machine (sharing the batch's file system) can
run them. They return a results row and write nothing but the run's own files.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from perfagent.agent.batch.metrics import reference_agreement
from perfagent.agent.batch.results import now, row_from_trajectory
from perfagent.agent.context import Budgets, RunContext
from perfagent.agent.proposers import judge_of, make_proposer
from perfagent.agent.run import RunError, load_settings, new_run_id, run_graph
from perfagent.tools.bench.session import SessionConfig
from perfagent.tools.errors import PerfagentError
from perfagent.tools.lab import MeasureOptions, measure
from perfagent.tools.lab.report import WorkloadResult
from perfagent.tools.lab.results import GSO_MIN_SPEEDUP
from perfagent.tools.progress import ProgressEvent, describe
from perfagent.tools.runner import IsolationLevel, use_isolation
from perfagent.tools.taskspec import ReferenceSpec, load_task


@dataclass(frozen=True)
class RunSettings:
    """What every run of a batch shares (``perfagent optimize``'s options)."""

    model: str = "rules"
    base_url: str | None = None
    max_iterations: int = 4
    candidates: int = 4
    max_runs: int = 60
    expert: bool = True
    patience: int = 2
    max_cost: float | None = None
    max_time: float | None = None
    judge: bool = True
    isolation: IsolationLevel = "required"  # batch workers run untrusted code unattended

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("base_url")  # where the model is served, not what the batch measures
        return data


@dataclass(frozen=True)
class RunJob:
    task_file: str
    task: str
    k: int
    run_dir: str
    settings: RunSettings

    @property
    def label(self) -> str:
        return f"{self.task} run {self.k}"

    @property
    def trajectory(self) -> Path:
        return Path(self.run_dir) / f"{self.task}.traj.json"


@dataclass(frozen=True)
class OracleJob:
    task_file: str
    task: str
    max_runs: int = 60
    isolation: IsolationLevel = "required"

    @property
    def label(self) -> str:
        return f"{self.task} oracle"


def where() -> dict[str, Any]:
    """Which worker ran a job, on which CPUs (its affinity, inherited by every child)."""
    return {"worker": f"{socket.gethostname()}:{os.getpid()}", "cpus": _cpus()}


def _cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def _context(job: RunJob, run_id: str) -> RunContext:
    s = job.settings
    proposer = make_proposer(s.model, base_url=s.base_url, task_file=Path(job.task_file))
    run_dir = Path(job.run_dir)
    log = run_dir / "progress.log"

    def progress(event: ProgressEvent) -> None:
        with log.open("a", encoding="utf-8") as handle:
            handle.write(f"{now()} {describe(event)}\n")

    return RunContext(
        task_file=Path(job.task_file),
        run_dir=run_dir,
        run_id=run_id,
        proposer=proposer,
        proposer_spec=s.model,
        judge=judge_of(proposer) if s.judge else None,
        budgets=Budgets(s.max_iterations, s.max_cost, s.max_time, s.patience, None),
        candidates_per_round=s.candidates,
        verdict=SessionConfig(max_runs=s.max_runs),
        expert=s.expert,
        progress=progress,
    )


def execute_run(job: RunJob) -> dict[str, Any]:
    """Run (or, after a kill, continue) one agent run; its results row.

    A run dir with ``settings.json`` holds a run that was started and never reported: it is
    resumed from its checkpoint, or started afresh when no step had finished.
    """
    run_dir = Path(job.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    resumed = (run_dir / "settings.json").exists()
    error: str | None = None
    try:
        # A pool worker starts with no isolation level of its own: the batch's applies.
        with use_isolation(job.settings.isolation):
            doc, resumed = _run_or_resume(job, run_dir, resumed)
    except PerfagentError as exc:
        error = str(exc)
        doc = _read(job.trajectory)
    extra = {**where(), "resumed": resumed, "attempt_s": time.monotonic() - started}
    return row_from_trajectory(
        doc, task=job.task, k=job.k, trajectory=job.trajectory, error=error, extra=extra
    )


def _run_or_resume(job: RunJob, run_dir: Path, resumed: bool) -> tuple[dict[str, Any] | None, bool]:
    """The run's trajectory, and whether it continued an earlier attempt."""
    try:
        run_id = load_settings(run_dir)["run_id"] if resumed else new_run_id(job.task)
        return run_graph(_context(job, run_id), resume=resumed), resumed
    except RunError:
        if not resumed:
            raise
    # Killed before its first checkpoint: nothing to continue, start again.
    shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    return run_graph(_context(job, new_run_id(job.task)), resume=False), False


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def execute_oracle(job: OracleJob) -> dict[str, Any]:
    """Only the expert patch against base, in this worker's place: does it reproduce here?

    It reproduces when every workload is decisively faster (the lab's verdict), the geometric
    mean of the workloads' speedups reaches GSO's instance threshold (1.2), the expert's tests
    pass and its outputs are equivalent to base's. A task with published figures also gets
    the measured/published ratio and whether it agrees (``metrics.reference_agreement``).
    """
    started = time.monotonic()
    row: dict[str, Any] = {"task": job.task, "k": 0, "finished": None}
    try:
        task = load_task(job.task_file)
        row.update(_published(task.spec.reference))
        cpus = frozenset(_cpus())
        options = MeasureOptions(
            expert=True, session=SessionConfig(max_runs=job.max_runs), cpus=cpus
        )
        with use_isolation(job.isolation):
            report = measure(task, options)
    except PerfagentError as exc:
        row.update(status="failed", error=str(exc), reproduces=False)
    else:
        geomean = float(report.overall.get("geomean_speedup") or report.speedup)
        row.update(
            status="done",
            error=None,
            speedup=report.speedup,
            ci=list(report.ci),
            verdict=report.verdict,
            overall=report.overall.get("verdict"),
            geomean_speedup=geomean,
            equivalent=report.equivalent,
            tests_passed=report.tests_passed,
            workloads=len(report.workloads),
            timing=_timing(report.workloads[0]),
            reproduces=(
                report.overall.get("verdict") == "faster"
                and geomean >= GSO_MIN_SPEEDUP
                and report.tests_passed is not False
                and report.equivalent is not False
            ),
        )
        ratio, agrees = reference_agreement(report.speedup, row.get("reference_speedup"))
        row.update(reference_ratio=ratio, reference_agrees=agrees)
    row.update(where(), wall_s=time.monotonic() - started, finished=now())
    return row


def _published(reference: ReferenceSpec | None) -> dict[str, Any]:
    if reference is None:
        return {}
    return {
        "reference_speedup": reference.speedup,
        "reference_source": reference.source,
        "reference_base_s": reference.base_s,
        "reference_expert_s": reference.expert_s,
    }


def _timing(workload: WorkloadResult) -> dict[str, Any]:
    """How the primary workload was timed: the spec's timeit semantics and the loops used."""
    timing = workload.timing
    return {
        "number": timing.get("number"),
        "setup": timing.get("setup_statement") or timing.get("setup"),
        "gc": timing.get("gc"),
        "loops": workload.loops,
    }
