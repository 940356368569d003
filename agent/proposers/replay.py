"""The replay proposer: re-proposes the edits a trajectory recorded, round by round, so a run
can be re-verified on another machine without a model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from perfagent.agent.proposers.base import Proposal, ProposalRequest
from perfagent.agent.types import Candidate


class ReplayProposer:
    name = "replay"

    def __init__(self, trajectory: dict[str, Any], path: Path | None = None) -> None:
        self.path = path
        self.by_round: dict[int, list[dict[str, Any]]] = {}
        for record in trajectory.get("candidates", []):
            self.by_round.setdefault(int(record["round"]), []).append(record)

    @property
    def rounds(self) -> int:
        return max(self.by_round, default=0)

    def propose(self, request: ProposalRequest) -> Proposal:
        recorded = self.by_round.get(request.round, [])
        candidates = [
            Candidate(
                id=record["id"].split("-", 1)[1] if "-" in record["id"] else record["id"],
                source=record.get("source", "replay"),
                diff=record["diff"],
                files=tuple(record.get("files", [])),
                qualname=record.get("qualname", ""),
                rule_id=record.get("rule_id"),
                rationale=record.get("rationale", ""),
                weight=float(record.get("weight", 0.0)),
            )
            for record in recorded
        ]
        errors = [] if recorded else [f"the trajectory has no candidates for round {request.round}"]
        return Proposal(candidates=candidates, errors=errors)
