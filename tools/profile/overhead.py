"""How much the profiler slows a workload, measured with the lab's own sessions."""

from __future__ import annotations

from dataclasses import dataclass

from perfagent.tools.bench.session import SessionConfig, run_session
from perfagent.tools.bench.workloads import Sample
from perfagent.tools.profile import samplers
from perfagent.tools.profile.run import prepared_workload
from perfagent.tools.taskspec import Task


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
    with prepared_workload(task, task.spec.workload) as (scratch, workload, base):
        out = scratch / "overhead.txt"

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
