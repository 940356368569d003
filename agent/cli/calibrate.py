"""``perfagent calibrate``: false-accept rate and power of the verdicts on this machine."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from perfagent.agent.cli.progress import ProgressDisplay, verbosity_options


@click.command("calibrate")
@click.option(
    "--effect",
    type=float,
    default=0.05,
    show_default=True,
    help="The true speedup of the synthetic A/B trials (0.10 = 10 %).",
)
@click.option(
    "--min-effect",
    type=float,
    default=0.05,
    show_default=True,
    help="The verdicts' minimum effect of interest.",
)
@click.option(
    "--trials",
    type=int,
    default=None,
    help="A/A and A/B trials each (default: as many as fit the budget).",
)
@click.option(
    "--budget",
    "budget_s",
    type=float,
    default=300.0,
    show_default=True,
    help="Seconds for the default number of trials.",
)
@click.option("--cpu", "cpus", type=int, multiple=True, help="Pin workloads to these CPUs.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@verbosity_options
def calibrate_command(
    effect: float,
    min_effect: float,
    trials: int | None,
    budget_s: float,
    cpus: tuple[int, ...],
    as_json: bool,
) -> None:
    """Measure false-accept rate, power and the smallest verifiable effect here."""
    from perfagent.agent.cli.render import make_console, render_calibration
    from perfagent.tools.bench.calibrate import calibrate

    with ProgressDisplay("calibrate") as show:
        result = calibrate(
            effect=effect,
            min_effect=min_effect,
            trials=trials,
            budget_s=budget_s,
            cpus=frozenset(cpus) if cpus else None,
            progress=show.texts("calibrate"),
        )
    if as_json:
        click.echo(json.dumps(asdict(result), indent=2))
    else:
        render_calibration(make_console(), result)
