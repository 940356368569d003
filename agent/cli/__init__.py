"""The ``perfagent`` command: a thin layer that turns arguments into tool calls."""

from __future__ import annotations

import logging
import sys

import click

from perfagent.agent.cli.app import app_group
from perfagent.agent.cli.batch import batch_command
from perfagent.agent.cli.calibrate import calibrate_command
from perfagent.agent.cli.init import init_command
from perfagent.agent.cli.measure import measure_command
from perfagent.agent.cli.optimize import optimize_command
from perfagent.agent.cli.profile import profile_command
from perfagent.agent.cli.propose import propose_command
from perfagent.agent.cli.replay import replay_command
from perfagent.agent.cli.report import report_command
from perfagent.agent.cli.tasks import tasks_group
from perfagent.tools.errors import PerfagentError


class _Group(click.Group):
    """Turns PerfagentError anywhere below into one line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except PerfagentError as exc:
            click.echo(f"perfagent: error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.option("-v", "--verbose", is_flag=True, help="Log what the tools do.")
@click.version_option(package_name="perfagent")
def main(verbose: bool) -> None:
    """perfagent: find, make and verify performance improvements in Python repositories."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


main.add_command(init_command)
main.add_command(measure_command)
main.add_command(calibrate_command)
main.add_command(profile_command)
main.add_command(propose_command)
main.add_command(optimize_command)
main.add_command(report_command)
main.add_command(replay_command)
main.add_command(tasks_group)
main.add_command(app_group)
main.add_command(batch_command)
