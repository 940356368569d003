"""``perfagent replay TRAJECTORY``: re-verify a recorded run on this machine, no model needed.

The recorded candidates are proposed again round by round and go through the same checks
and measurements; the result is compared with what the trajectory says.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from perfagent.agent.cli.optimize import summary
from perfagent.agent.cli.progress import ProgressDisplay, verbosity_options
from perfagent.agent.cli.rundirs import default_runs_dir
from perfagent.tools.errors import TaskSpecError


def _kept(doc: dict[str, Any]) -> list[str]:
    """Accepted candidates by their proposer-given ids (run prefixes differ between runs)."""
    return [cid.split("-", 1)[-1] for cid in (doc.get("final") or {}).get("accepted", [])]


def compare(original: dict[str, Any], replayed: dict[str, Any]) -> dict[str, Any]:
    before, after = original.get("final") or {}, replayed.get("final") or {}
    same_edits = _kept(original) == _kept(replayed)
    return {
        "original": {"speedup": before.get("speedup"), "ci": before.get("ci"),
                     "verdict": before.get("verdict"), "accepted": _kept(original)},
        "replay": {"speedup": after.get("speedup"), "ci": after.get("ci"),
                   "verdict": after.get("verdict"), "accepted": _kept(replayed)},
        "reproduced": same_edits and before.get("verdict") == after.get("verdict"),
    }  # fmt: skip


@click.command("replay")
@click.argument("trajectory", type=click.Path(path_type=Path))
@click.option(
    "--runs-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where the replay's run dir goes (default: as for optimize).",
)
@click.option(
    "--max-runs",
    type=int,
    default=60,
    show_default=True,
    help="Most runs per variant in a full verdict.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (progress: stderr).")
@verbosity_options
def replay_command(trajectory: Path, runs_dir: Path | None, max_runs: int, as_json: bool) -> None:
    """Re-verify TRAJECTORY: same task, same edits, measured again here."""
    from perfagent.agent.cli.render import make_console, render_run
    from perfagent.agent.context import Budgets, RunContext
    from perfagent.agent.proposers.replay import ReplayProposer
    from perfagent.agent.report import load_trajectory
    from perfagent.agent.run import new_run_id, run_graph
    from perfagent.tools.bench.session import SessionConfig

    original = load_trajectory(trajectory)
    task_file = Path(original["task_file"])
    if not task_file.is_file():
        raise TaskSpecError(f"{trajectory}: its task file {task_file} is not on this machine")
    proposer = ReplayProposer(original, trajectory)
    run_id = new_run_id(f"{original['task_id']}-replay")
    run_dir = (runs_dir or default_runs_dir()).resolve() / run_id
    recorded = original.get("config") or {}
    ctx = RunContext(
        task_file=task_file,
        run_dir=run_dir,
        run_id=run_id,
        proposer=proposer,
        proposer_spec=f"replay:{trajectory.resolve()}",
        # As many rounds as were recorded; never stop early for want of a gain.
        budgets=Budgets(max_iterations=max(1, proposer.rounds), patience=proposer.rounds + 1),
        candidates_per_round=max(1, *(len(v) for v in proposer.by_round.values())),
        verdict=SessionConfig(max_runs=max_runs),
        expert=bool(recorded.get("expert", True)),
    )
    with ProgressDisplay(f"replay {trajectory.name}") as show:
        ctx.progress = show
        doc = run_graph(ctx)
    result = {**summary(doc, run_dir), **compare(original, doc)}
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    console = make_console()
    render_run(console, result)
    verdict = "reproduced" if result["reproduced"] else "NOT reproduced"
    console.print(
        f"replay of {trajectory}: {verdict} (original {result['original']}, now {result['replay']})"
    )
