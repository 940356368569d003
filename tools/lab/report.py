"""The measurement report: raw facts of one ``measure`` session, JSON-ready."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from perfagent.tools.bench.stats import Verdict


@dataclass
class ProcessTiming:
    """What one fresh process timed: ``loops`` units per value (python/gso), its discarded
    warm-up values and its timed values, both in seconds per call."""

    loops: int | None
    warmups: list[float]
    values: list[float]


@dataclass
class VariantResult:
    """One variant (expert or candidate) against base on one workload."""

    speedup: float
    ci: tuple[float, float]
    verdict: Verdict
    p_value: float
    ratio_of_medians: float
    runs: int
    median: float  # seconds, or instructions per call
    max_rss_kb: int
    equivalent: bool | None
    equivalence_detail: str = ""
    values: list[float] = field(default_factory=list)  # every run's value, in run order
    processes: list[ProcessTiming] = field(default_factory=list)  # the same runs, in detail
    # ``first_call.py``: speedup on each process's first timed call, and on the later calls
    # (None when processes time fewer than two calls)
    first_call_speedup: float | None = None
    steady_speedup: float | None = None
    state_kept_across_calls: bool = False  # steady-state speedup far above first-call speedup
    base_first_call_gap: float | None = None  # base's first call / its later calls


@dataclass
class WorkloadResult:
    name: str
    kind: str
    hidden: bool
    base_median: float
    base_runs: int
    base_max_rss_kb: int
    rounds: int
    elapsed_s: float
    stopped: str
    variants: dict[str, VariantResult] = field(default_factory=dict)
    base_values: list[float] = field(default_factory=list)  # every base run's value
    base_processes: list[ProcessTiming] = field(default_factory=list)
    # python/gso: units per value, calibrated on base (or given); the spec's timing as used
    loops: int | None = None
    timing: dict[str, Any] = field(default_factory=dict)


@dataclass
class TestResult:
    __test__ = False  # a result, not a pytest test class

    command: str
    passed: bool
    summary: str
    # Not run again: the caller knew this command's result on the same tree (the agent's
    # screen already ran the candidate's tests; base's are run once per baseline).
    reused: bool = False


@dataclass
class MeasureReport:
    task: str
    metric: str
    subject: str  # the variant the top-level verdict describes: "candidate" or "expert"
    verdict: Verdict
    speedup: float
    ci: tuple[float, float]
    runs: int
    equivalent: bool | None
    tests_passed: bool | None
    workloads: list[WorkloadResult]
    tests: dict[str, list[TestResult]]
    expert_speedup: float | None = None
    expert_ci: tuple[float, float] | None = None
    expert_verdict: Verdict | None = None
    gso_opt: bool | None = None
    gso: dict[str, Any] | None = None
    overall: dict[str, Any] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)
    # runner.IsolationFacts: the level asked for, whether commands ran sandboxed, and how.
    isolation: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("ci", "expert_ci"):
            if data[key] is not None:
                data[key] = list(data[key])
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MeasureReport:
        """The inverse of ``to_json``."""
        fields = dict(data)
        fields["ci"] = tuple(data["ci"])
        fields["expert_ci"] = tuple(data["expert_ci"]) if data.get("expert_ci") else None
        fields["workloads"] = [
            WorkloadResult(
                **{
                    **w,
                    "variants": {
                        name: VariantResult(**{**v, "ci": tuple(v["ci"])})
                        for name, v in w["variants"].items()
                    },
                }
            )
            for w in data["workloads"]
        ]
        fields["tests"] = {
            name: [TestResult(**t) for t in results] for name, results in data["tests"].items()
        }
        return cls(**fields)

    def verdict_facts(self) -> dict[str, Any]:
        """The verdict fields a candidate record and the final result carry (one list)."""
        return {
            "speedup": self.speedup,
            "ci": list(self.ci),
            "verdict": self.verdict,
            "equivalent": self.equivalent,
            "tests_passed": self.tests_passed,
        }
