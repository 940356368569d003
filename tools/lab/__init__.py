"""The measurement lab: trustworthy speedup verdicts for a task's variants."""

from tools.lab.measure import MeasureOptions, gso_criterion, measure
from tools.lab.report import MeasureReport

__all__ = ["MeasureOptions", "MeasureReport", "gso_criterion", "measure"]
