"""How much the profiler slows a workload, measured with the lab's own sessions."""

from __future__ import annotations

from dataclasses import dataclass

from tools import runner
from tools.bench.session import SessionConfig, run_session
from tools.bench.workloads import Sample, Variant, WorkloadRunner
from tools.profile import samplers
from tools.pyenv import TaskEnvironment
from tools.taskspec import Task
from tools.workspace import Workspace


@dataclass(frozen=True)
class Overhead:
    slowdown: float  # profiled time / plain time (Hodges–Lehmann)
    ci: tuple[float, float]
    runs: int
    verdict: str  # the lab's verdict for "profiled vs plain" ("slower" means measurable)


def profiler_overhead(
    task: Task, *, rate_hz: int = 200, native: bool = False, session: SessionConfig | None = None
) -> Overhead:
    """Interleave plain and py-spy-wrapped runs of the base workload; compare like variants."""
    limits = runner.Limits(
        timeout_s=task.spec.limits.timeout_s * 3, memory_mb=task.spec.limits.memory_mb
    )
    spec = task.spec.workload
    with Workspace(task.repo_location(), task.spec.ref) as ws:
        env = TaskEnvironment(ws.root / "venv", python=task.spec.python, limits=limits)
        env.create()
        env.setup(task.spec.setup, ws.base_tree)
        env.build(task.spec.build, ws.base_tree)
        file = task.resolve_file(spec.file, ws.repo_dir, "workload.file") if spec.file else None
        workload = WorkloadRunner(spec, file, env, ws.root / "scratch", limits=limits)
        base = Variant("base", ws.base_tree)
        out = ws.root / "overhead.txt"

        def run_one(name: str) -> Sample:
            if name == "plain":
                return workload.run(base)
            sample = workload.run(
                base, wrapper=samplers.pyspy_wrapper(out, rate=rate_hz, native=native)
            )
            out.unlink(missing_ok=True)
            return sample

        result = run_session(run_one, "plain", ["profiled"], session or SessionConfig())
    comparison = result.comparisons["profiled"]
    assert comparison.verdict is not None
    return Overhead(
        1 / comparison.speedup,
        (1 / comparison.ci[1], 1 / comparison.ci[0]),
        comparison.n_base,
        comparison.verdict,
    )
