"""``perfagent propose``: rule candidates for a task's hot functions, as patch files."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import click

from perfagent.agent.cli.progress import ProgressDisplay, verbosity_options

if TYPE_CHECKING:
    from rich.console import Console

    from perfagent.agent.types import Candidate

RULES_TOP = 16  # kept equal to perfagent.agent.proposers.rules.RULES_TOP (a test checks)


@click.command("propose")
@click.argument("task_file", type=click.Path(path_type=Path))
@click.option(
    "--top",
    type=int,
    default=RULES_TOP,
    show_default=True,
    help="How many hot functions to consider.",
)
@click.option("--rule", "rules", multiple=True, help="Only these rule ids.")
@click.option(
    "--combine", "with_combined", is_flag=True, help="Also propose all candidates applied together."
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    help="Write each candidate as a patch file here.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the candidates as JSON.")
@verbosity_options
def propose_command(
    task_file: Path,
    top: int,
    rules: tuple[str, ...],
    with_combined: bool,
    out_dir: Path | None,
    as_json: bool,
) -> None:
    """Profile TASK_FILE and list the built-in rules' rewrites of its hot functions."""
    from perfagent.agent.cli.render import make_console
    from perfagent.agent.proposers.rules import combine, propose, targets_from
    from perfagent.tools.edit.paths import protected_patterns
    from perfagent.tools.profile import profile_task
    from perfagent.tools.taskspec import load_task
    from perfagent.tools.workspace import Workspace

    task = load_task(task_file)
    with ProgressDisplay("propose") as show:
        profile = profile_task(task, runs=2, progress=show.texts("profile"))
    with Workspace(task.repo_location(), task.spec.ref) as ws:
        targets = targets_from(
            profile.hotspots,
            task.spec.targets,
            ws.base_tree,
            protected=protected_patterns(task),
            top=top,
        )
        candidates = propose(ws.base_tree, targets, list(rules) or None)
        if with_combined and (merged := combine(ws.base_tree, candidates)) is not None:
            candidates.append(merged)
    paths = _write(candidates, out_dir) if out_dir is not None else {}
    if as_json:
        click.echo(
            json.dumps(
                [{**c.to_json(), "patch_file": paths.get(c.id)} for c in candidates], indent=2
            )
        )
        return
    _render(make_console(), candidates, paths)


def _write(candidates: list[Candidate], out_dir: Path) -> dict[str, str]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for number, candidate in enumerate(candidates, start=1):
        slug = re.sub(r"[^A-Za-z0-9]+", "-", f"{candidate.rule_id}-{candidate.qualname}")[:80]
        path = out_dir / f"{number:02d}-{slug.strip('-')}.diff"
        path.write_text(candidate.diff, encoding="utf-8")
        paths[candidate.id] = str(path)
    return paths


def _render(console: Console, candidates: list[Candidate], paths: dict[str, str]) -> None:
    from rich.markup import escape
    from rich.table import Table

    if not candidates:
        console.print("no rule fires in the hot functions")
        return
    table = Table(title=f"perfagent propose — {len(candidates)} candidates")
    for column in ("#", "rule", "function", "file", "time on lines", "rationale", "patch"):
        table.add_column(column)
    for number, c in enumerate(candidates, start=1):
        table.add_row(
            str(number),
            escape(c.rule_id or ""),
            escape(c.qualname),
            escape(", ".join(c.files)),
            f"{c.weight:.0%}",
            escape(c.rationale),
            escape(paths.get(c.id, "")),
        )
    console.print(table)
