"""``perfagent profile``: where a task's workload spends its time."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from perfagent.agent.cli.progress import ProgressDisplay, verbosity_options
from perfagent.tools.profile.defaults import DEFAULT_RATE_HZ, SAMPLE_FLOOR, SAMPLE_TIME_CAP_S


@click.command("profile")
@click.argument("task_file", type=click.Path(path_type=Path))
@click.option("--native", is_flag=True, help="Include native (C) frames in py-spy stacks.")
@click.option(
    "--perf",
    "use_perf",
    is_flag=True,
    help="Also sample native code with perf record (software clock).",
)
@click.option(
    "--rate", type=int, default=DEFAULT_RATE_HZ, show_default=True, help="Samples per second."
)
@click.option(
    "--runs", type=int, default=3, show_default=True, help="Workload processes to sample."
)
@click.option(
    "--workload",
    "workload_index",
    type=int,
    default=0,
    show_default=True,
    help="Which workload: 0 is the visible one, 1.. the hidden ones.",
)
@click.option(
    "--min-samples",
    type=int,
    default=SAMPLE_FLOOR,
    show_default=True,
    help="Keep sampling until the timed calls hold this many samples.",
)
@click.option(
    "--max-time",
    type=float,
    default=SAMPLE_TIME_CAP_S,
    show_default=True,
    help="Seconds of sampling at most (the profile says so if the floor was not reached).",
)
@click.option("--top", type=int, default=15, show_default=True, help="Rows in the table.")
@click.option(
    "--speedscope",
    "speedscope_out",
    type=click.Path(path_type=Path),
    help="Write a speedscope flame-graph file here.",
)
@click.option("--overhead", is_flag=True, help="Also measure the profiler's slowdown.")
@click.option("--json", "as_json", is_flag=True, help="Print the hotspots as JSON.")
@verbosity_options
def profile_command(
    task_file: Path,
    native: bool,
    use_perf: bool,
    rate: int,
    runs: int,
    workload_index: int,
    min_samples: int,
    max_time: float,
    top: int,
    speedscope_out: Path | None,
    overhead: bool,
    as_json: bool,
) -> None:
    """Profile TASK_FILE's workload on base and rank the hot functions in the repo."""
    from perfagent.agent.cli.render import make_console, render_profile
    from perfagent.tools.profile import profile_task, write_speedscope
    from perfagent.tools.profile.overhead import profiler_overhead
    from perfagent.tools.taskspec import load_task

    task = load_task(task_file)
    with ProgressDisplay("profile") as show:
        profile = profile_task(
            task,
            workload_index=workload_index,
            runs=runs,
            rate_hz=rate,
            native=native,
            perf=use_perf,
            min_samples=min_samples,
            max_time_s=max_time,
            progress=show.texts("profile"),
        )
        slowdown = profiler_overhead(task, rate_hz=rate, native=native) if overhead else None
    if speedscope_out is not None:
        write_speedscope(profile, speedscope_out)
    if as_json:
        data = profile.to_json()
        if slowdown is not None:
            data["overhead"] = asdict(slowdown)
        click.echo(json.dumps(data, indent=2))
        return
    render_profile(make_console(), profile, top=top)
    if slowdown is not None:
        make_console().print(
            f"profiler slowdown: {slowdown.slowdown:.3f}× (95 % CI "
            f"{slowdown.ci[0]:.3f}–{slowdown.ci[1]:.3f}, {slowdown.runs} runs)"
        )
    if speedscope_out is not None:
        make_console().print(f"flame graph: {speedscope_out} (open in https://www.speedscope.app)")
