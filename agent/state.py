"""The loop's state: raw facts only (timings, diffs, test results, errors), JSON-ready.

Lists that grow use reducers so nodes return only what they add; candidates are a dict by id
whose entries nodes update field by field. Settings (proposer, budgets) are not state: they
live in the run context (``agent.context.RunContext``).
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict


def merge_by_id(
    current: dict[str, dict[str, Any]], update: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Candidates by id: a new id is added, a known one has the given fields replaced."""
    merged = dict(current)
    for key, fields in update.items():
        merged[key] = {**merged.get(key, {}), **fields}
    return merged


class AgentState(TypedDict, total=False):
    task_file: str
    run_id: str
    round: int  # the round being worked on, 1-based
    # The accepted edits as one diff against the task's base ("" while nothing is kept).
    baseline_patch: str
    accepted: list[str]  # ids of accepted candidates, in order
    estimated_speedup: float  # product of the accepted candidates' speedups (target check)
    rounds_without_gain: int
    baseline: dict[str, Any]  # BaselineCheck.to_json()
    profiles: Annotated[list[dict[str, Any]], operator.add]  # {round, profile}
    proposals: Annotated[list[dict[str, Any]], operator.add]  # {round, proposer, errors}
    calls: Annotated[list[dict[str, Any]], operator.add]  # ModelCall.to_json() + round
    candidates: Annotated[dict[str, dict[str, Any]], merge_by_id]
    pending: list[str]  # candidate ids of this round still to evaluate, in order
    evaluated: str | None  # the candidate the last check / screen / verdict judged
    measurements: Annotated[list[dict[str, Any]], operator.add]  # {kind, candidate, report}
    timings: Annotated[list[dict[str, Any]], operator.add]  # {node, round, wall_s, ...}
    stop_reason: str | None
    final: dict[str, Any] | None
    error: str | None
