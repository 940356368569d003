"""Batch runs: tasks × K agent runs (or oracle measurements) on a local pinned process pool or
a Dask cluster, with append-only results, resume, GSO / SWE-Perf metrics and a summary page."""

from __future__ import annotations

from perfagent.agent.batch.engines import BatchError
from perfagent.agent.batch.jobs import RunSettings
from perfagent.agent.batch.runner import BatchOptions, BatchResult, run_batch, run_oracle

__all__ = ["BatchError", "BatchOptions", "BatchResult", "RunSettings", "run_batch", "run_oracle"]
