"""Benchmarking: fresh-process workload runs, statistics and sequential verdicts."""
