"""``perfagent report``: re-render a run's report.md and report.html from its trajectory."""

from __future__ import annotations

from pathlib import Path

import click

from perfagent.agent.cli.progress import verbosity_options
from perfagent.tools.errors import PerfagentError


@click.command("report")
@click.argument("trajectory", type=click.Path(path_type=Path))
@click.option(
    "--html",
    "html_out",
    type=click.Path(path_type=Path),
    help="Write the HTML report here [default: report.html next to TRAJECTORY].",
)
@click.option(
    "--md",
    "md_out",
    type=click.Path(path_type=Path),
    help="Write the markdown report here [default: report.md next to TRAJECTORY].",
)
@verbosity_options
def report_command(trajectory: Path, html_out: Path | None, md_out: Path | None) -> None:
    """Render TRAJECTORY (a *.traj.json) as report.md and report.html; print their paths."""
    from perfagent.agent.report import load_trajectory, render_html, render_markdown

    traj = load_trajectory(trajectory)
    outputs = (
        (md_out or trajectory.parent / "report.md", render_markdown),
        (html_out or trajectory.parent / "report.html", render_html),
    )
    for path, render in outputs:
        text = render(traj, path=str(trajectory))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise PerfagentError(f"cannot write the report {path}: {exc.strerror}") from exc
        click.echo(str(path))
