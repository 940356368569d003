"""Measure what the sandbox costs the timed calls, with the lab; print a Markdown table.

    python scripts/sandbox_overhead.py [TASK_FILE ...]   (default: tasks/examples/*.yaml)

For each task, base's visible workload runs in one interleaved session (the lab's
``run_session``: fresh processes, shuffled order, sequential verdict) as two "variants" that
differ only in isolation: ``off`` (the runner's plain path) and ``required`` (bubblewrap plus a
cgroup). The slowdown of the timed calls is sandboxed / plain with its bootstrap CI; the
process wall time (start-up included, which the timed calls never see) is shown beside it.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from perfagent.tools.bench.session import SessionConfig, run_session
from perfagent.tools.bench.workloads import Sample
from perfagent.tools.profile.run import prepared_workload
from perfagent.tools.taskspec import load_task

ROOT = Path(__file__).resolve().parents[1]


def overhead_row(task_file: Path, session: SessionConfig) -> str:
    task = load_task(task_file)
    with prepared_workload(task, task.spec.workload) as (_ws, workload, base):

        def run_one(name: str) -> Sample:
            workload.env.isolation = "off" if name == "plain" else "required"
            return workload.run(base)

        result = run_session(run_one, "plain", ["sandboxed"], session)
    comparison = result.comparisons["sandboxed"]
    low, high = 1 / comparison.ci[1], 1 / comparison.ci[0]
    walls = {n: statistics.median(s.wall_s for s in result.samples[n]) for n in result.samples}
    plain = result.values("plain")
    spread = statistics.median(abs(v - statistics.median(plain)) for v in plain)
    return (
        f"| {task.id} | {statistics.median(plain) * 1e3:.2f} ms "
        f"| ±{100 * 1.4826 * spread / statistics.median(plain):.1f} % "
        f"| {1 / comparison.speedup:.3f}× [{low:.3f}, {high:.3f}] | {comparison.verdict} "
        f"| {len(result.samples['plain'])}+{len(result.samples['sandboxed'])} "
        f"| {walls['plain'] * 1e3:.0f} → {walls['sandboxed'] * 1e3:.0f} ms |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", nargs="*", type=Path)
    parser.add_argument("--max-runs", type=int, default=30)
    args = parser.parse_args()
    tasks = args.tasks or sorted((ROOT / "tasks" / "examples").glob("*.yaml"))
    session = SessionConfig(max_runs=args.max_runs, max_time_s=240.0, seed=0)
    print(
        "| task | plain median call | spread (1.48·MAD) | sandboxed / plain [95 % CI] "
        "| verdict | runs | process wall, median |"
    )
    print("|---|---|---|---|---|---|---|")
    for task_file in tasks:
        print(overhead_row(task_file, session), flush=True)


if __name__ == "__main__":
    main()
