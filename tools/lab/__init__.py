"""The measurement lab: trustworthy speedup verdicts for a task's variants."""

from perfagent.tools.lab.measure import MeasureOptions, gso_criterion, measure
from perfagent.tools.lab.report import MeasureReport

__all__ = ["MeasureOptions", "MeasureReport", "gso_criterion", "measure"]
