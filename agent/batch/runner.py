"""A batch: tasks × K agent runs (or one oracle measurement per task) on an engine.

Layout of ``OUT``::

    batch.json                 what the runs share (a rerun must match, or use --redo)
    results.jsonl              one line per finished run, appended here and only here
    oracle.jsonl               one line per task measured with --oracle
    summary.md, summary.html   rewritten after every finished run
    runs/<task>/run-<k>/       each run's dir: trajectory, patch, reports, checkpoint

Resume is the default: pairs already in ``results.jsonl`` are skipped, and a run that was
killed midway continues from its checkpoint. ``--redo`` runs everything again from scratch.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfagent.agent.batch import metrics
from perfagent.agent.batch.engines import (
    BatchError,
    free_cores,
    make_engine,
    quiet_core_warning,
)
from perfagent.agent.batch.jobs import OracleJob, RunJob, RunSettings, execute_oracle, execute_run
from perfagent.agent.batch.results import ORACLE, RESULTS, ResultsFile, now, rows_for
from perfagent.agent.batch.summary import write_summaries
from perfagent.agent.proposers import EXPERT, make_proposer
from perfagent.tools.taskspec import load_task

FORMAT = "perfagent-batch"
VERSION = 1

Say = Callable[[str], None]
OnRow = Callable[[dict[str, Any]], None]


@dataclass
class BatchOptions:
    task_files: Sequence[Path]
    out: Path
    settings: RunSettings = field(default_factory=RunSettings)
    k: int = 1
    workers: int = 1
    engine: str = "local"
    scheduler: str | None = None
    redo: bool = False


@dataclass
class BatchResult:
    out: Path
    results: Path
    summary_md: Path
    summary_html: Path
    rows: list[dict[str, Any]]
    metrics: metrics.BatchMetrics | None
    oracle: list[dict[str, Any]]
    ran: int
    skipped: int
    crashed: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            # Only files that exist: an --oracle-only batch writes oracle.jsonl and no runs.
            "results": str(self.results) if self.results.exists() else None,
            "oracle_results": str(self.out / ORACLE) if (self.out / ORACLE).exists() else None,
            "summary_md": str(self.summary_md),
            "summary_html": str(self.summary_html),
            "ran": self.ran,
            "skipped": self.skipped,
            "crashed": self.crashed,
            "metrics": self.metrics.to_json() if self.metrics else None,
            "rows": self.rows,
            "oracle": self.oracle,
            "oracle_agreement": metrics.oracle_agreement(self.oracle).to_json(),
        }


def load_tasks(files: Sequence[Path]) -> dict[str, Path]:
    """Task id → absolute task file; ids must be unique (they name the run dirs)."""
    if not files:
        raise BatchError("batch: give at least one task file")
    tasks: dict[str, Path] = {}
    for file in files:
        task = load_task(file)
        path = Path(file).resolve()
        if task.id in tasks and tasks[task.id] != path:
            raise BatchError(f"{file}: task id {task.id!r} is also the id of {tasks[task.id]}")
        tasks[task.id] = path
    return tasks


def check_batch_file(out: Path, settings: RunSettings, redo: bool) -> None:
    """``batch.json`` records what the runs share; resuming with other settings would mix
    incomparable runs in one set of metrics."""
    path = out / "batch.json"
    wanted = settings.to_json()
    if path.exists() and not redo:
        try:
            stored = json.loads(path.read_text(encoding="utf-8")).get("settings")
        except (OSError, ValueError, AttributeError) as exc:
            raise BatchError(f"{path}: not a perfagent batch file ({exc})") from exc
        if stored != wanted:
            changed = sorted(k for k in wanted if (stored or {}).get(k) != wanted[k])
            raise BatchError(
                f"{out}: holds a batch with other settings ({', '.join(changed)}); "
                "use another --out, the same options, or --redo"
            )
    out.mkdir(parents=True, exist_ok=True)
    doc = {"format": FORMAT, "version": VERSION, "settings": wanted, "updated": now()}
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")


def run_dir(out: Path, task: str, k: int) -> Path:
    return out / "runs" / task / f"run-{k}"


def plan(
    tasks: dict[str, Path], out: Path, settings: RunSettings, k: int, done: set[tuple[str, int]]
) -> list[RunJob]:
    """The runs still to do, every task's run 0 first (a partial batch covers all tasks)."""
    return [
        RunJob(str(file), task, index, str(run_dir(out, task, index)), settings)
        for index in range(k)
        for task, file in tasks.items()
        if (task, index) not in done
    ]


def _header(
    options: BatchOptions, out: Path, tasks: dict[str, Path], oracle: bool
) -> dict[str, str]:
    where = (
        f"dask at {options.scheduler}"
        if options.engine == "dask"
        else f"local, {options.workers} worker(s)"
    )
    header = {
        "out": str(out),
        "tasks": str(len(tasks)),
        "engine": where,
        "updated": now(),
    }
    if not oracle:
        header.update(k=str(options.k), model=options.settings.model)
    return header


def _record(
    job_key: str,
    outcome: dict[str, Any] | BaseException,
    store: ResultsFile,
    on_row: OnRow,
    say: Say,
    crashed: list[str],
) -> bool:
    if isinstance(outcome, BaseException):
        # A bug in a run (not a PerfagentError, which is a failed row): not a result, so a
        # rerun retries it; named here and in the exit status.
        message = f"{job_key}: crashed: {type(outcome).__name__}: {outcome}"
        crashed.append(" ".join(message.split()))
        say(crashed[-1])
        return False
    store.append(outcome)
    on_row(outcome)
    return True


def run_batch(options: BatchOptions, *, on_row: OnRow, say: Say) -> BatchResult:
    """Every (task, run) not yet in ``results.jsonl`` (all of them with ``redo``)."""
    if options.k < 1:
        raise BatchError(f"--k: {options.k} must be at least 1")
    tasks = load_tasks(options.task_files)
    out = options.out.resolve()
    engine = make_engine(options.engine, options.workers, options.scheduler)
    # Fail here, once, on a model spec that cannot work (a missing script or key, a task
    # without an expert for the expert model), rather than in every run.
    if options.settings.model == EXPERT:
        lacking = [task for task, file in tasks.items() if load_task(file).spec.expert is None]
        if lacking:
            raise BatchError(f"--model expert: no expert in task(s) {', '.join(lacking)}")
    else:
        make_proposer(options.settings.model, base_url=options.settings.base_url)
    check_batch_file(out, options.settings, options.redo)
    store = ResultsFile(out / RESULTS)
    done = set() if options.redo else set(store.read())
    jobs = plan(tasks, out, options.settings, options.k, done)
    for job in jobs:
        if options.redo and Path(job.run_dir).exists():
            shutil.rmtree(job.run_dir)
    if options.engine == "local" and jobs:
        warning = quiet_core_warning(min(options.workers, len(jobs)), free_cores())
        if warning:
            say(warning)
    skipped = len(tasks) * options.k - len(jobs)
    if skipped:
        say(f"skipping {skipped} finished run(s) already in {store.path} (--redo reruns them)")
    crashed: list[str] = []
    header = _header(options, out, tasks, oracle=False)
    ran = 0
    for job, outcome in engine.run(execute_run, jobs):
        ran += _record(job.label, outcome, store, on_row, say, crashed)
        _summarise(out, options, tasks, header)
    return _summarise(out, options, tasks, header, ran=ran, skipped=skipped, crashed=crashed)


def run_oracle(options: BatchOptions, *, on_row: OnRow, say: Say) -> BatchResult:
    """Each task's expert patch against base only: which tasks are measurable here."""
    tasks = load_tasks(options.task_files)
    out = options.out.resolve()
    engine = make_engine(options.engine, options.workers, options.scheduler)
    out.mkdir(parents=True, exist_ok=True)
    store = ResultsFile(out / ORACLE)
    done = set() if options.redo else {task for task, _ in store.read()}
    jobs = [
        OracleJob(str(file), task, options.settings.max_runs, options.settings.isolation)
        for task, file in tasks.items()
        if task not in done
    ]
    if options.engine == "local" and jobs:
        warning = quiet_core_warning(min(options.workers, len(jobs)), free_cores())
        if warning:
            say(warning)
    crashed: list[str] = []
    header = _header(options, out, tasks, oracle=True)
    ran = 0
    for job, outcome in engine.run(execute_oracle, jobs):
        ran += _record(job.label, outcome, store, on_row, say, crashed)
    return _summarise(
        out, options, tasks, header, ran=ran, skipped=len(tasks) - len(jobs), crashed=crashed
    )


def _summarise(
    out: Path,
    options: BatchOptions,
    tasks: dict[str, Path],
    header: dict[str, str],
    *,
    ran: int = 0,
    skipped: int = 0,
    crashed: list[str] | None = None,
) -> BatchResult:
    rows = rows_for(ResultsFile(out / RESULTS).read().values(), tasks)
    rows = [r for r in rows if int(r["k"]) < options.k]
    oracle = rows_for(ResultsFile(out / ORACLE).read().values(), tasks)
    batch_metrics = metrics.compute(rows, list(tasks), options.k) if rows else None
    header = {**header, "updated": now()}
    if "model" not in header:  # an --oracle pass into a batch dir keeps the batch's model
        header.update(_batch_model(out))
    md, html = write_summaries(out, header, batch_metrics, rows, oracle)
    return BatchResult(
        out=out,
        results=out / RESULTS,
        summary_md=md,
        summary_html=html,
        rows=rows,
        metrics=batch_metrics,
        oracle=oracle,
        ran=ran,
        skipped=skipped,
        crashed=crashed or [],
    )


def _batch_model(out: Path) -> dict[str, str]:
    try:
        settings = json.loads((out / "batch.json").read_text(encoding="utf-8"))["settings"]
        return {"model": str(settings["model"])}
    except (OSError, ValueError, KeyError, TypeError):
        return {}
