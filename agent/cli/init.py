"""``perfagent init``: set a repository up for ``perfagent optimize .`` from what it has."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import click

from perfagent.agent.cli.progress import verbosity, verbosity_options
from perfagent.tools.errors import TaskSpecError
from perfagent.tools.onboard import Findings, Plan, Source, detect, plan, pyproject


@click.command("init")
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--source",
    type=click.Choice(get_args(Source)),
    default=None,
    help="Workload source [default: asv if there is a suite, else pytest-benchmark tests, "
    "else a stub].",
)
@click.option(
    "--benchmark",
    default=None,
    help="asv: a benchmark name or part of it [default: the first]; pytest-benchmark: part "
    "of the test ids to time [default: the first file's tests].",
)
@click.option(
    "--param-index",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="asv: which combination of the benchmark's params (asv's benchmark-N id).",
)
@click.option(
    "--tests",
    "tests",
    multiple=True,
    help="Test command checking behaviour (repeatable) [default: pytest on tests/].",
)
@click.option("--force", is_flag=True, help="Replace an existing [tool.perfagent] and workload.")
@verbosity_options
def init_command(
    path: Path,
    source: Source | None,
    benchmark: str | None,
    param_index: int,
    tests: tuple[str, ...],
    force: bool,
) -> None:
    """Write [tool.perfagent] into PATH's pyproject.toml (and a workload file if needed),
    from an asv suite, pytest-benchmark tests or a stub; say what was found and chosen."""
    repo = path.resolve()
    target = repo / "pyproject.toml"
    if pyproject.has_table(target) and not force:
        raise TaskSpecError(f"{target}: [tool.perfagent] exists (--force replaces it)")
    findings = detect(repo)
    chosen = plan(
        findings, source=source, benchmark=benchmark, param_index=param_index, tests=tests
    )
    if chosen.workload_file and chosen.workload_source:
        workload = repo / chosen.workload_file
        if workload.exists() and not force:
            raise TaskSpecError(f"{workload}: exists (--force replaces it)")
        workload.write_text(chosen.workload_source, encoding="utf-8")
    comment = f"Written by `perfagent init`: {chosen.chosen}."
    pyproject.write_table(target, chosen.config, replace=force, comment=comment)
    _say(repo, findings, chosen)


def _say(repo: Path, findings: Findings, chosen: Plan) -> None:
    """What was found, chosen and written; -q: only what was written."""
    quiet = verbosity() < 0
    written = [f"{repo / 'pyproject.toml'} [tool.perfagent]"]
    if chosen.workload_file:
        written.append(str(repo / chosen.workload_file))
    if not quiet:
        for line in _found(findings):
            click.echo(f"found: {line}")
        click.echo(f"chose: {chosen.chosen}")
    click.echo(f"wrote: {', '.join(written)}")
    if not quiet:
        for note in chosen.notes:
            click.echo(f"note: {note}")
        click.echo(f"next: perfagent optimize {repo}")


def _found(findings: Findings) -> list[str]:
    lines = []
    if findings.asv is not None:
        suite = findings.asv
        lines.append(
            f"asv suite {suite.config} (benchmark_dir {suite.benchmark_dir}/, "
            f"{len(suite.benchmarks)} timing benchmark(s))"
        )
    if findings.benchmark_tests:
        files = {t.file for t in findings.benchmark_tests}
        lines.append(
            f"{len(findings.benchmark_tests)} pytest-benchmark test(s) in {len(files)} file(s)"
        )
    if findings.benchmarks_dir and (
        findings.asv is None or findings.asv.benchmark_dir != findings.benchmarks_dir
    ):
        lines.append(f"benchmarks folder {findings.benchmarks_dir}/")
    if findings.tests_dir:
        lines.append(f"tests folder {findings.tests_dir}/")
    return lines or ["no benchmarks or tests"]
