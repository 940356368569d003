"""Data contracts shared by proposers, the agent loop and the entry points."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

# Where a candidate is in propose → check → screen → verdict, and what became of it. Routers
# and reports read these fields; nothing downstream parses a reason's text.
Stage = Literal["proposed", "static", "screen", "verdict"]
Outcome = Literal["pending", "rejected", "faster", "accepted", "superseded", "skipped"]
# Why a rejected candidate was rejected: it did not apply or run, the guard refused it, its
# tests failed, its outputs differ, or it was measured and not (clearly) faster.
Rejection = Literal["unusable", "guard", "tests", "outputs", "speed"]


@dataclass(frozen=True)
class Candidate:
    """One proposed edit, as a git-style unified diff against the base tree."""

    id: str  # stable within a run, e.g. "rules-1"
    source: str  # which proposer: "rules", "model", "replay"
    diff: str
    files: tuple[str, ...]  # repo-relative paths the diff touches
    qualname: str  # the function it targets
    rule_id: str | None = None  # for rule candidates
    rationale: str = ""
    # The share of the profile it can save at most (ranking): the sampled share of the lines
    # a rule rewrites, or the target function's inclusive share.
    weight: float = 0.0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["files"] = list(self.files)
        return data
