"""The ``perfagent`` command: a thin layer that turns arguments into tool calls.

Each subcommand's module is imported only when that subcommand runs (or its own ``--help``
is asked for), and those modules import the heavy parts (LangGraph, numpy, scipy, the model
SDKs) inside their functions: ``perfagent --help`` loads click and little else.
"""

from __future__ import annotations

import importlib
import sys

import click

from perfagent.agent.cli.progress import configure_logging, verbosity, verbosity_options
from perfagent.tools.errors import PerfagentError
from perfagent.tools.runner.sandbox import ISOLATION_LEVELS, IsolationLevel, use_isolation

# name → (module, attribute, one-line help shown by `perfagent --help` without importing it)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "measure": ("measure", "measure_command", "Measure a task's candidate and/or expert."),
    "calibrate": ("calibrate", "calibrate_command", "False-accept rate and power here."),
    "profile": ("profile", "profile_command", "Where a task's workload spends its time."),
    "propose": ("propose", "propose_command", "The built-in rules' rewrites of hot code."),
    "optimize": ("optimize", "optimize_command", "Profile, propose, verify, measure: a run."),
    "report": ("report", "report_command", "Re-render a run's report.md and report.html."),
    "replay": ("replay", "replay_command", "Re-verify a recorded run on this machine."),
    "tasks": ("tasks", "tasks_group", "Task files from benchmark datasets."),
    "batch": ("batch", "batch_command", "Many tasks × K runs; GSO / SWE-Perf metrics."),
    "app": ("app", "app_group", "perfagent as a GitHub App."),
    "doctor": ("doctor", "doctor_command", "What this machine supports (sandbox, tools)."),
    "init": ("init", "init_command", "Set a repository up for perfagent optimize ."),
}
# Commands that run untrusted code unattended: without --isolation they require the sandbox.
_REQUIRE_BY_DEFAULT = frozenset({"batch", "app"})
# Commands that run workloads (the sandboxed runner is Linux-only).
RUNS_WORKLOADS = frozenset({"measure", "calibrate", "profile", "propose", "optimize", "replay",
                            "batch", "app"})  # fmt: skip


_LISTING = "perfagent.listing"  # set while `perfagent --help` lists the commands


class UnsupportedPlatformError(PerfagentError):
    """This operating system lacks what the runner needs."""


class _Group(click.Group):
    """Loads a subcommand's module on first use; turns PerfagentError anywhere below into one
    line on stderr and exit code 2."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*COMMANDS, *super().list_commands(ctx)])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        if ctx.resilient_parsing or _listing_help(ctx):
            # `perfagent --help` lists commands by their short help: no import needed.
            return click.Command(cmd_name, short_help=COMMANDS[cmd_name][2])
        module, attribute, _ = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(f"perfagent.agent.cli.{module}"), attribute)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        ctx.meta[_LISTING] = True
        try:
            super().format_commands(ctx, formatter)
        finally:
            ctx.meta[_LISTING] = False

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if name in RUNS_WORKLOADS and not {"--help", "-h"} & set(rest):
            _check_platform()
        return name, command, rest

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except PerfagentError as exc:
            click.echo(f"perfagent: error: {exc}", err=True)
            sys.exit(2)


def _listing_help(ctx: click.Context) -> bool:
    return ctx.meta.get(_LISTING, False) is True


def _check_platform() -> None:
    from perfagent.tools.runner.os_support import unsupported

    if (problem := unsupported()) is not None:
        raise UnsupportedPlatformError(problem)


@click.group(cls=_Group)
@verbosity_options
@click.option(
    "--isolation",
    type=click.Choice(ISOLATION_LEVELS),
    default=None,
    help="Sandbox the repository's and the model's code: required (fail where this machine "
    "cannot), best-effort (default; warn and go on) or off. Batch and App default to required. "
    "`perfagent doctor` says what this machine supports.",
)
@click.version_option(package_name="perfagent")
@click.pass_context
def main(ctx: click.Context, isolation: IsolationLevel | None) -> None:
    """perfagent: find, make and verify performance improvements in Python repositories."""
    configure_logging(verbosity())
    if isolation is None:
        isolation = "required" if ctx.invoked_subcommand in _REQUIRE_BY_DEFAULT else "best-effort"
    # For the whole command; "required" fails here, in one line, where the host cannot.
    ctx.with_resource(use_isolation(isolation))
