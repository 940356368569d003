"""Output equivalence across runs: every variant's output against base's first output."""

from __future__ import annotations

import json

from perfagent.tools.bench.workloads import Sample
from perfagent.tools.equivalence import compare


class OutputTracker:
    """Compares each run's output with the reference (base's first run) as runs arrive.

    Base runs are compared too: a base whose output changes from run to run (unseeded
    randomness, timestamps) cannot judge equivalence, which is reported as unknown.
    """

    def __init__(self, reference: Sample) -> None:
        self.reference = reference.output
        self._reference_text = json.dumps(reference.output, sort_keys=True)
        self.base_unstable = reference.self_consistent is False
        self.unstable_detail = (
            "base output differs between calls in one process" if self.base_unstable else ""
        )
        self.failures: dict[str, str] = {}
        self.observed: set[str] = set()
        self.within_tolerance: set[str] = set()

    def observe(self, sample: Sample) -> None:
        self.observed.add(sample.variant)
        if sample.error is not None:
            self.failures.setdefault(sample.variant, f"workload raised {sample.error}")
            return
        if sample.equivalence_failure is not None:
            self.failures.setdefault(sample.variant, sample.equivalence_failure)
            return
        if (
            sample.output is None
            or json.dumps(sample.output, sort_keys=True) == self._reference_text
        ):
            return
        result = compare(self.reference, sample.output)
        if result.equal:
            self.within_tolerance.add(sample.variant)
            return
        where = f" at {result.path}" if result.path else ""
        detail = f"output differs{where}: {result.detail}"
        if sample.variant == "base":
            self.base_unstable = True
            self.unstable_detail = f"base output differs between runs ({detail})"
        else:
            self.failures.setdefault(sample.variant, detail)

    def verdict(self, variant: str) -> tuple[bool | None, str]:
        if variant in self.failures:
            return False, self.failures[variant]
        if self.base_unstable:
            return None, self.unstable_detail
        if variant not in self.observed:
            return None, "no output observed"
        if self.reference is None:
            return True, "checks passed"
        if variant in self.within_tolerance:
            return True, "outputs equal within float tolerance"
        return True, "outputs identical"
