"""``perfagent tasks``: task files from benchmark datasets (``tasks import``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from perfagent.agent.cli.progress import verbosity_options

if TYPE_CHECKING:
    from perfagent.tools.tasksets import ImportResult

# The importers' names (perfagent.tools.tasksets.FORMATS; a test keeps them equal).
FORMATS = ("gso", "swe-perf", "timeit-script")


@click.group("tasks")
def tasks_group() -> None:
    """Task files from benchmark datasets."""


@tasks_group.command("import")
@click.argument("fmt", metavar="FORMAT", type=click.Choice(sorted(FORMATS)))
@click.argument("src", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Directory for the task files (created if missing).",
)
@click.option("--json", "as_json", is_flag=True, help="Print index.json's object instead.")
@verbosity_options
def import_command(fmt: str, src: Path, out: Path, as_json: bool) -> None:
    """Import the rows of SRC (a .json/.jsonl/.csv/.parquet file, or a directory of them) as
    FORMAT tasks: OUT/<id>.yaml, OUT/<id>/ (workloads, expert.diff, IMPORT_NOTES.md) and
    OUT/index.json. A row that cannot become a task is skipped with its reason.

    Exit status: 0 if at least one task was imported, 1 if every row was skipped, 2 if SRC
    cannot be read.
    """
    from perfagent.tools.tasksets import import_tasks

    result = import_tasks(fmt, src, out)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        _print(result)
    if not result.imported:
        sys.exit(1)


def _print(result: ImportResult) -> None:
    click.echo(f"imported {len(result.imported)}, skipped {len(result.skipped)} into {result.out}")
    for task in result.imported:
        untranslated = (
            f"  ({task.not_translated} step(s) not translated: see {task.id}/IMPORT_NOTES.md)"
            if task.not_translated
            else ""
        )
        click.echo(f"  {task.task}{untranslated}")
    for skipped in result.skipped:
        click.echo(f"skipped {skipped.id or skipped.row}: {skipped.reason}")
