"""``perfagent batch``: many tasks × K runs (or the oracle) on a local pool or a Dask cluster."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from perfagent.agent.cli.progress import ProgressDisplay, verbosity_options
from perfagent.agent.cli.rundirs import default_runs_dir
from perfagent.tools.progress import StageStarted
from perfagent.tools.runner import isolation_level

if TYPE_CHECKING:
    from perfagent.agent.batch import BatchResult


def _figure(value: Any, ci: Any = None) -> str:
    if not isinstance(value, int | float):
        return "—"
    text = f"{value:.3f}×"
    return f"{text} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else text


def _row_line(row: dict[str, Any]) -> str:
    if "reproduces" in row:
        return (
            f"{row['task']}: expert {_figure(row.get('speedup'), row.get('ci'))} "
            f"{row.get('overall') or row.get('verdict') or row.get('error')} → reproduces "
            f"{'yes' if row['reproduces'] else 'no'}"
        )
    verdict = row.get("verdict") or ("no edit kept" if row["status"] == "done" else "")
    gso = {True: "yes", False: "no", None: "—"}[row.get("gso_opt")]
    tail = f" · error: {row['error']}" if row.get("error") else ""
    return (
        f"{row['task']} run {row['k']}: {row['status']} {verdict} "
        f"{_figure(row.get('speedup'), row.get('ci'))} · GSO opt {gso} · "
        f"{float(row.get('wall_s') or 0):.0f} s{tail}"
    )


def _render(console: Console, result: BatchResult) -> None:
    if result.oracle:
        table = Table(title="expert patch on this machine (oracle)")
        for column in ("task", "expert speedup", "95% CI", "verdict", "reproduces"):
            table.add_column(column)
        for r in result.oracle:
            ci = r.get("ci")
            table.add_row(
                escape(r["task"]),
                _figure(r.get("speedup")),
                f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "—",
                str(r.get("overall") or r.get("verdict") or r.get("error")),
                "[green]yes[/]" if r.get("reproduces") else "[red]no[/]",
            )
        console.print(table)
    m = result.metrics
    if m is not None:
        table = Table(title=f"perfagent batch — {m.tasks} task(s) × {m.k}")
        for column in ("task", "runs", "verdicts", "best speedup", "GSO opt", "time / run"):
            table.add_column(column)
        for t in m.per_task:
            table.add_row(
                escape(t.task),
                f"{t.done}/{t.runs}",
                ", ".join(v or "—" for v in t.verdicts),
                _figure(t.best_speedup),
                f"{t.successes}/{t.runs}",
                f"{t.mean_wall or 0:.0f} s",
            )
        console.print(table)
        estimates = ", ".join(f"Opt@{k} {v:.1%}" for k, v in m.opt_at.items())
        console.print(
            f"Opt@{m.k} {m.opt_at_k:.1%} (estimated: {estimates}) · SWE-Perf apply "
            f"{m.swe_perf.apply:.1%}, correctness {m.swe_perf.correctness:.1%}, performance "
            f"{m.swe_perf.performance:.1%} · median expert share "
            + (f"{m.median_expert_share:.1%}" if m.median_expert_share is not None else "—")
        )
    console.print(f"summary: {result.summary_html}")
    for line in result.crashed:
        console.print(f"[bold red]{escape(line)}[/]")


@click.command("batch")
@click.argument("tasks", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--model", default="rules", show_default=True, help="As for optimize.")
@click.option("--base-url", default=None, help="OpenAI-compatible server (else OPENAI_BASE_URL).")
@click.option("--k", "k", type=int, default=1, show_default=True, help="Runs per task (Opt@K).")
@click.option("--workers", type=int, default=1, show_default=True, help="Local workers (cores).")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True)
@click.option("--scheduler", default=None, help="Dask scheduler address, e.g. tcp://host:8786.")
@click.option("--oracle", is_flag=True, help="Only measure each task's expert patch here.")
@click.option("--redo", is_flag=True, help="Run finished pairs again (default: skip them).")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Batch dir (default: $PERFAGENT_RUNS_DIR/batch, else ./.perfagent/runs/batch).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (progress: stderr).")
@click.option("--max-iterations", type=int, default=4, show_default=True)
@click.option("--candidates", type=int, default=4, show_default=True)
@click.option("--max-runs", type=int, default=60, show_default=True)
@click.option("--patience", type=int, default=2, show_default=True)
@click.option("--max-cost", type=float, default=None, help="USD per run at most.")
@click.option("--max-time", type=float, default=None, help="Seconds per run at most.")
@click.option("--judge/--no-judge", default=True, show_default=True)
@click.option("--no-expert", is_flag=True, help="Do not compare with the tasks' experts.")
@verbosity_options
def batch_command(
    tasks: tuple[Path, ...],
    model: str,
    base_url: str | None,
    k: int,
    workers: int,
    engine: str,
    scheduler: str | None,
    oracle: bool,
    redo: bool,
    out: Path | None,
    as_json: bool,
    max_iterations: int,
    candidates: int,
    max_runs: int,
    patience: int,
    max_cost: float | None,
    max_time: float | None,
    judge: bool,
    no_expert: bool,
) -> None:
    """Run TASKS (task files) K times each and report GSO / SWE-Perf metrics."""
    from perfagent.agent.batch import BatchOptions, RunSettings, run_batch, run_oracle

    settings = RunSettings(
        model=model,
        base_url=base_url,
        max_iterations=max_iterations,
        candidates=candidates,
        max_runs=max_runs,
        expert=not no_expert,
        patience=patience,
        max_cost=max_cost,
        max_time=max_time,
        judge=judge,
        isolation=isolation_level(),  # the --isolation given, else required (cli/__init__)
    )
    options = BatchOptions(
        task_files=list(tasks),
        out=out or default_runs_dir() / "batch",
        settings=settings,
        k=k,
        workers=workers,
        engine=engine,
        scheduler=scheduler,
        redo=redo,
    )
    planned = len(tasks) * (1 if oracle else k)
    finished = 0
    with ProgressDisplay("batch") as show:

        def on_row(row: dict[str, Any]) -> None:
            nonlocal finished
            finished += 1
            show.note(_row_line(row))  # one line per finished run stays on screen
            show(StageStarted("batch", f"{finished} of at most {planned} run(s) finished"))

        try:
            run = run_oracle if oracle else run_batch
            result = run(options, on_row=on_row, say=show.note)
        except KeyboardInterrupt:
            interrupted = True
        else:
            interrupted = False
    if interrupted:
        click.echo(
            f"batch interrupted: finished runs are in {options.out / 'results.jsonl'}; "
            "the same command continues (interrupted runs resume from their checkpoints)",
            err=True,
        )
        sys.exit(130)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, default=str))
    else:
        _render(Console(), result)
    if result.crashed:
        sys.exit(1)
