"""``perfagent measure``: a trustworthy verdict for an expert patch and/or a candidate."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from perfagent.agent.cli.progress import ProgressDisplay, verbosity_options
from perfagent.tools.errors import TaskSpecError

if TYPE_CHECKING:
    from perfagent.tools.lab import MeasureReport

# Which verdicts fail the gate under each --fail-on; each level includes the one before.
FAILING: dict[str, frozenset[str]] = {
    "slower": frozenset({"slower"}),
    "inconclusive": frozenset({"slower", "inconclusive"}),
    "not-faster": frozenset({"slower", "inconclusive", "same"}),
}


def gate_failures(report: MeasureReport, fail_on: str) -> list[str]:
    """``workload: verdict`` for each of the subject's workloads whose verdict fails the gate."""
    failing = FAILING[fail_on]
    return [
        f"{w.name}: {w.variants[report.subject].verdict}"
        for w in report.workloads
        if w.variants[report.subject].verdict in failing
    ]


@click.command(
    "measure",
    epilog="Exit status: 0 measured (and the --fail-on gate passed); 1 the --fail-on "
    "condition holds on some workload (visible or hidden); 2 an error (bad task, failing "
    "base, setup or build).",
)
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
@click.option(
    "--fail-on",
    "fail_on",
    type=click.Choice(list(FAILING)),
    default=None,
    help="Exit 1 if some workload's verdict is slower (slower), slower or inconclusive "
    "(inconclusive), or anything but faster (not-faster): a CI gate.",
)
@click.option(
    "--markdown",
    "markdown_out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also append the verdict table as markdown to this file (e.g. $GITHUB_STEP_SUMMARY).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (progress: stderr).")
@verbosity_options
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
    fail_on: str | None,
    markdown_out: Path | None,
    as_json: bool,
) -> None:
    """Measure TASK_FILE's candidate and/or expert against base."""
    from perfagent.agent.cli.render import make_console, render_measure
    from perfagent.tools.bench.session import SessionConfig
    from perfagent.tools.lab import MeasureOptions, measure
    from perfagent.tools.taskspec import load_task

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
    with ProgressDisplay("measure") as show:
        report = measure(task, options, progress=show)
    failures = gate_failures(report, fail_on) if fail_on is not None else []
    if markdown_out is not None:
        from perfagent.agent.cli.verdict_md import verdict_markdown

        with markdown_out.open("a", encoding="utf-8") as handle:
            handle.write(verdict_markdown(report, failures, fail_on))
    if as_json:
        data = report.to_json()
        if fail_on is not None:
            data["gate"] = {"fail_on": fail_on, "failed": bool(failures), "failures": failures}
        click.echo(json.dumps(data, indent=2))
    else:
        render_measure(make_console(), report)
    if failures:
        click.echo(f"perfagent: --fail-on {fail_on}: {'; '.join(failures)}", err=True)
        sys.exit(1)
