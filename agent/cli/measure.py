"""``perfagent measure``: a trustworthy verdict for an expert patch and/or a candidate."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console

from perfagent.agent.cli.render import make_console, render_measure
from perfagent.tools.bench.session import SessionConfig
from perfagent.tools.errors import TaskSpecError
from perfagent.tools.lab import MeasureOptions, measure
from perfagent.tools.taskspec import load_task


@click.command("measure")
@click.argument("task_file", type=click.Path(path_type=Path))
@click.option(
    "--candidate",
    "candidate",
    type=click.Path(path_type=Path),
    help="A unified diff to measure against base.",
)
@click.option("--expert", is_flag=True, help="Measure the task's expert patch too.")
@click.option(
    "--metric",
    type=click.Choice(["time", "instructions"]),
    default="time",
    show_default=True,
    help="Wall time, or instruction counts (valgrind/perf).",
)
@click.option(
    "--min-effect",
    type=float,
    default=0.05,
    show_default=True,
    help="Smallest relative speedup worth calling faster.",
)
@click.option(
    "--max-runs",
    type=int,
    default=60,
    show_default=True,
    help="Most runs per variant and workload.",
)
@click.option("--min-runs", type=int, default=6, show_default=True)
@click.option(
    "--max-time",
    "max_time",
    type=float,
    default=300.0,
    show_default=True,
    help="Seconds of sampling per workload before the verdict is inconclusive.",
)
@click.option("--no-hidden", is_flag=True, help="Skip the task's hidden workloads.")
@click.option("--cpu", "cpus", type=int, multiple=True, help="Pin workloads to these CPUs.")
@click.option(
    "--allow-failing-base-tests",
    is_flag=True,
    help="Ignore test commands that already fail on base instead of stopping.",
)
@click.option("--seed", type=int, default=None, help="Seed for the run order shuffle.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def measure_command(
    task_file: Path,
    candidate: Path | None,
    expert: bool,
    metric: str,
    min_effect: float,
    max_runs: int,
    min_runs: int,
    max_time: float,
    no_hidden: bool,
    cpus: tuple[int, ...],
    allow_failing_base_tests: bool,
    seed: int | None,
    as_json: bool,
) -> None:
    """Measure TASK_FILE's candidate and/or expert against base."""
    task = load_task(task_file)
    patch = None
    if candidate is not None:
        if not candidate.is_file():
            raise TaskSpecError(f"--candidate: patch file {candidate} not found")
        patch = candidate.read_text(encoding="utf-8")
    options = MeasureOptions(
        candidate_patch=patch,
        expert=expert,
        metric="instructions" if metric == "instructions" else "time",
        session=SessionConfig(
            min_effect=min_effect,
            max_runs=max_runs,
            min_runs=min_runs,
            max_time_s=max_time,
            seed=seed,
        ),
        hidden=not no_hidden,
        cpus=frozenset(cpus) if cpus else None,
        allow_failing_base_tests=allow_failing_base_tests,
    )
    err = Console(stderr=True)
    if as_json:
        report = measure(task, options)
        click.echo(json.dumps(report.to_json(), indent=2))
        return
    with err.status("measuring…") as status:
        report = measure(task, options, progress=lambda msg: status.update(msg))
    render_measure(make_console(), report)
