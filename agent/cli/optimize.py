"""``perfagent optimize``: the whole loop on a task file, a local repo or a git URL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from perfagent.agent.cli.progress import ProgressDisplay, verbosity_options
from perfagent.agent.cli.rundirs import default_runs_dir
from perfagent.tools.errors import TaskSpecError

if TYPE_CHECKING:
    from perfagent.agent.context import RunContext


def parse_target(value: str | None) -> float | None:
    """``1.5x`` / ``1.5×`` / ``1.5`` → 1.5."""
    if value is None:
        return None
    try:
        number = float(value.strip().rstrip("x×"))
    except ValueError as exc:
        raise TaskSpecError(f"--target: {value!r} is not a speedup such as 1.5x") from exc
    if number <= 1.0:
        raise TaskSpecError(f"--target: {value!r} must be above 1x")
    return number


def summary(doc: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    from perfagent.agent.trajectory import verdict_facts

    final = doc.get("final") or {}
    return {
        "run_id": doc["run_id"],
        "task": doc["task_id"],
        "status": doc["status"],
        **verdict_facts(final),
        "flags": final.get("flags", []),
        "stop_reason": doc.get("stop_reason"),
        "accepted": final.get("accepted", []),
        "usage": doc.get("usage"),
        "patch": str(run_dir / "patch.diff"),
        "trajectory": str(run_dir / f"{doc['task_id']}.traj.json"),
        "report": str(run_dir / "report.html"),
        "report_md": str(run_dir / "report.md"),
    }


@click.command("optimize")
@click.argument("target", required=False)
@click.option(
    "--model",
    default="rules",
    show_default=True,
    help="rules, openai:MODEL, anthropic:MODEL, fake:SCRIPT (an OpenAI-compatible "
    "server: openai:MODEL with --base-url), or expert (answers with the task's expert "
    "patch: the ceiling benchmark).",
)
@click.option("--base-url", default=None, help="OpenAI-compatible server (else OPENAI_BASE_URL).")
@click.option(
    "--model-timeout",
    type=click.FloatRange(min=1.0),
    default=None,
    help="Seconds per model request (default 120; a model served on a CPU may need more).",
)
@click.option(
    "--max-tokens",
    type=click.IntRange(min=64),
    default=None,
    help="Most tokens per model answer (default 4096; lower suits a small local model).",
)
@click.option("--workload", default=None, help="Workload file (for a repo target).")
@click.option("--hidden-workload", "hidden", multiple=True, help="More workload files (repo).")
@click.option("--tests", multiple=True, help="Test command (for a repo target); repeatable.")
@click.option("--expert", default=None, help="Expert commit or patch file (repo target).")
@click.option("--ref", default=None, help="Commit, branch or tag to start from (repo target).")
@click.option(
    "--target", "target_speedup", default=None, help="Stop once this speedup is kept, e.g. 1.5x."
)
@click.option("--max-iterations", type=int, default=4, show_default=True, help="Rounds at most.")
@click.option("--max-cost", type=float, default=None, help="USD of model calls at most.")
@click.option("--max-time", type=float, default=None, help="Seconds of wall time at most.")
@click.option(
    "--patience",
    type=int,
    default=2,
    show_default=True,
    help="Stop after this many rounds without a kept edit.",
)
@click.option("--candidates", type=int, default=4, show_default=True, help="Candidates per round.")
@click.option(
    "--max-runs",
    type=int,
    default=60,
    show_default=True,
    help="Most runs per variant in a full verdict.",
)
@click.option(
    "--judge/--no-judge",
    default=True,
    show_default=True,
    help="With a model: let it review the final diff for reward hacking (adds flags).",
)
@click.option("--no-expert", is_flag=True, help="Do not compare with the task's expert.")
@click.option(
    "--runs-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where run dirs go (default: $PERFAGENT_RUNS_DIR, else ./.perfagent/runs, which "
    "git ignores).",
)
@click.option("--resume", "resume_id", default=None, help="Continue the run RUN_ID.")
@click.option(
    "--apply",
    "apply_patch",
    is_flag=True,
    help="Apply the final patch to TARGET's working tree (only if it is clean).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (progress: stderr).")
@verbosity_options
def optimize_command(
    target: str | None,
    model: str,
    base_url: str | None,
    model_timeout: float | None,
    max_tokens: int | None,
    workload: str | None,
    hidden: tuple[str, ...],
    tests: tuple[str, ...],
    expert: str | None,
    ref: str | None,
    target_speedup: str | None,
    max_iterations: int,
    max_cost: float | None,
    max_time: float | None,
    patience: int,
    candidates: int,
    max_runs: int,
    judge: bool,
    no_expert: bool,
    runs_dir: Path | None,
    resume_id: str | None,
    apply_patch: bool,
    as_json: bool,
) -> None:
    """Profile, propose, verify and measure edits to TARGET until a budget or target."""
    from perfagent.agent.cli.render import make_console, render_run
    from perfagent.agent.context import Budgets, RunContext
    from perfagent.agent.proposers import judge_of, make_proposer
    from perfagent.agent.run import new_run_id, run_graph
    from perfagent.agent.target import TargetOptions, resolve_target
    from perfagent.tools.bench.session import SessionConfig
    from perfagent.tools.taskspec import load_task

    runs = (runs_dir or default_runs_dir()).resolve()
    if resume_id is not None:
        ctx = _resumed_context(runs / resume_id, base_url, model_timeout, max_tokens)
    else:
        if target is None:
            raise TaskSpecError("optimize: give a TARGET (task file, repo folder or git URL)")
        options = TargetOptions(workload, list(tests), expert, ref, list(hidden))
        staging = runs / ".staging" / new_run_id("target")
        task_file = resolve_target(target, options, staging)
        run_id = new_run_id(load_task(task_file).id)
        run_dir = runs / run_id
        if task_file.is_relative_to(staging):
            run_dir.mkdir(parents=True, exist_ok=True)
            task_file = task_file.rename(run_dir / "task.yaml")
            staging.rmdir()
        proposer = make_proposer(
            model,
            base_url=base_url,
            timeout=model_timeout,
            max_tokens=max_tokens,
            task_file=task_file,
        )
        ctx = RunContext(
            task_file=task_file,
            run_dir=run_dir,
            run_id=run_id,
            proposer=proposer,
            proposer_spec=model,
            judge=judge_of(proposer) if judge else None,
            budgets=Budgets(
                max_iterations, max_cost, max_time, patience, parse_target(target_speedup)
            ),
            candidates_per_round=candidates,
            verdict=SessionConfig(max_runs=max_runs),
            expert=not no_expert,
        )
    with ProgressDisplay(f"optimize {ctx.run_id}") as show:
        ctx.progress = show
        doc = run_graph(ctx, resume=resume_id is not None)
    result = summary(doc, ctx.run_dir)
    if apply_patch:
        result["applied"] = _apply(ctx, doc)
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        render_run(make_console(), result)


def _resumed_context(
    run_dir: Path, base_url: str | None, timeout: float | None, max_tokens: int | None
) -> RunContext:
    from perfagent.agent.context import Budgets, RunContext
    from perfagent.agent.proposers import judge_of, make_proposer
    from perfagent.agent.run import load_settings
    from perfagent.tools.bench.session import SessionConfig

    settings = load_settings(run_dir)
    budgets = Budgets(**settings["budgets"])
    proposer = make_proposer(
        settings["proposer"],
        base_url=base_url,
        timeout=timeout,
        max_tokens=max_tokens,
        task_file=Path(settings["task_file"]),
    )
    return RunContext(
        task_file=Path(settings["task_file"]),
        run_dir=run_dir,
        run_id=settings["run_id"],
        proposer=proposer,
        proposer_spec=settings["proposer"],
        judge=judge_of(proposer) if settings.get("judge") else None,
        budgets=budgets,
        candidates_per_round=settings["candidates_per_round"],
        screen=SessionConfig(**settings["screen"]),
        verdict=SessionConfig(**settings["verdict"]),
        expert=settings["expert"],
        profile_runs=settings["profile_runs"],
    )


def _apply(ctx: RunContext, doc: dict[str, Any]) -> str:
    from perfagent.tools.taskspec import load_task
    from perfagent.tools.workspace import apply_to_checkout

    patch = (doc.get("final") or {}).get("patch") or ""
    if not patch:
        return "nothing to apply: no edit was kept"
    task = load_task(ctx.task_file)
    if task.repo_is_url:
        return "not applied: the target is a URL; the patch is in the run dir"
    return apply_to_checkout(Path(task.repo_location()), patch)
