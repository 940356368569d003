"""The measurement lab: trustworthy speedup verdicts for a task's variants."""

from perfagent.tools.lab.measure import MeasureOptions, measure
from perfagent.tools.lab.report import MeasureReport
from perfagent.tools.lab.results import gso_criterion

__all__ = ["MeasureOptions", "MeasureReport", "gso_criterion", "measure"]
