"""The proposer contract: what every source of candidate edits takes and gives back.

A proposer sees the current baseline tree (base plus the edits accepted so far), the latest
profile's hotspots and what happened to earlier attempts, and returns candidates as unified
diffs against that tree. It never measures anything and never writes to the tree it is
given: the loop applies, checks and measures each candidate itself.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from perfagent.agent.types import Candidate, Rejection
from perfagent.tools.bench.stats import Verdict
from perfagent.tools.profile import Hotspot

if TYPE_CHECKING:
    from perfagent.agent.proposers.exec_tools import DraftLab


@dataclass(frozen=True)
class Attempt:
    """What became of one earlier candidate, as raw facts (prompts format them)."""

    candidate_id: str
    qualname: str
    rule_id: str | None
    outcome: str  # "accepted" or the stage that rejected it: "apply", "static", "tests", ...
    reason: str  # one line: the test failure, the apply error, "slower 0.91× [0.88, 0.95]"
    diff: str
    speedup: float | None = None
    verdict: Verdict | None = None  # the measured verdict, when it was measured
    rejected_for: Rejection | None = None


@dataclass(frozen=True)
class ProposalRequest:
    tree: Path  # the current baseline: read it, never write it
    hotspots: tuple[Hotspot, ...]  # the latest profile's repo functions, hottest first
    hints: tuple[str, ...]  # the task's target functions (qualnames), if any
    protected: tuple[str, ...]  # glob patterns of files no candidate may touch
    history: tuple[Attempt, ...]  # every earlier attempt of this run, oldest first
    round: int  # 1-based
    max_candidates: int
    profile_detail: dict[str, Any] = field(default_factory=dict)  # Profile.to_json(), raw
    budget_usd: float | None = None  # what model calls may still cost this run; None: no cap
    # The run's prepared task, for the execution tools (try_edit, run_tests); None: no such
    # tools. It measures the visible workload only.
    lab: DraftLab | None = None


@dataclass
class ModelCall:
    """One request to a chat model and its answer, with usage; stored in the trajectory."""

    provider: str  # "openai", "anthropic", "fake"
    model: str
    messages: list[dict[str, Any]]  # what was sent (provider-neutral form)
    response: str  # the text of the answer
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # [{name, arguments}]
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None  # None when the model's price is unknown
    latency_s: float = 0.0
    attempts: int = 1  # 1 + retries
    error: str | None = None
    purpose: str = "propose"  # "propose", "repair", "judge"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ToolRun:
    """One execution-tool call during a proposal (summaries cut to one short line)."""

    name: str  # "try_edit", "run_tests"
    arguments: str
    result: str
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Proposal:
    candidates: list[Candidate] = field(default_factory=list)
    calls: list[ModelCall] = field(default_factory=list)
    tool_runs: list[ToolRun] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # one line each: why an answer gave nothing


class Proposer(Protocol):
    """Anything that turns a request into candidates (model-backed, rules, replay, fake)."""

    name: str

    def propose(self, request: ProposalRequest) -> Proposal: ...
