"""Run settings: what the graph's nodes need besides state (LangGraph's context schema).

Nothing here is a fact about the run; ``settings_json()`` is what ``--resume`` stores so the
same context can be rebuilt after a kill. The CLI builds a ``RunContext`` with objects (a
proposer, a judge model); LangGraph's server (``langgraph dev``, the LangGraph API, Studio)
builds it from the run's plain JSON ``context`` as ``RunContext(**context)``, e.g.

    {"task_file": "tasks/examples/dedupe_logs.yaml", "run_dir": "/tmp/run", "run_id": "r1",
     "proposer_spec": "rules", "budgets": {"max_iterations": 1}, "judge": false}

so ``__post_init__`` turns such values into the types below: paths from strings, budgets and
session configs from dicts, the proposer from ``proposer_spec``, a judge from ``true``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

from perfagent.agent.models.base import ChatModel
from perfagent.agent.proposers import judge_of, make_proposer
from perfagent.agent.proposers.base import Proposer
from perfagent.agent.workspaces import RunWorkspaces
from perfagent.tools.bench.session import SessionConfig
from perfagent.tools.progress import Progress, ignore

# A quick screen: few runs, visible workload only; it only has to catch clear losers.
SCREEN_SESSION = SessionConfig(min_runs=4, max_runs=8, max_time_s=60.0, warmup_rounds=1)


@dataclass
class Budgets:
    max_iterations: int = 4  # rounds of profile → propose → evaluate → decide
    max_cost: float | None = None  # USD, model calls only
    max_time: float | None = None  # seconds of wall time, summed over resumed runs
    patience: int = 2  # stop after this many rounds without a kept candidate
    target: float | None = None  # stop once the kept edits reach this speedup (estimate)


@dataclass
class RunContext:
    task_file: Path
    run_dir: Path
    run_id: str
    # Made from ``proposer_spec`` when not given (``cast``: after __post_init__ it is set).
    proposer: Proposer = field(default=cast(Any, None))
    proposer_spec: str = "rules"  # "rules", "openai:gpt-4o-mini", "replay:PATH", "fake:PATH"
    budgets: Budgets = field(default_factory=Budgets)
    candidates_per_round: int = 4
    screen: SessionConfig = field(default_factory=lambda: SCREEN_SESSION)
    verdict: SessionConfig = field(default_factory=SessionConfig)
    expert: bool = True  # compare the final patch with the task's expert, if it has one
    # Reviews the final diff for reward hacking (flags only); ``True`` in a plain-JSON
    # context means the proposer's own model.
    judge: ChatModel | None = None
    profile_runs: int = 2
    progress: Progress = ignore
    workdir_parent: Path | None = None
    started: float = field(default_factory=time.monotonic)
    # The run's workspace (clone, venv, trees), made by the first node that needs it.
    workspaces: RunWorkspaces = field(default_factory=RunWorkspaces)

    def __post_init__(self) -> None:
        plain: dict[str, Any] = vars(self)  # values as LangGraph passed them, maybe JSON
        self.task_file, self.run_dir = Path(plain["task_file"]), Path(plain["run_dir"])
        if plain["workdir_parent"] is not None:
            self.workdir_parent = Path(plain["workdir_parent"])
        for name, kind in (
            ("budgets", Budgets),
            ("screen", SessionConfig),
            ("verdict", SessionConfig),
        ):
            if isinstance(plain[name], dict):
                setattr(self, name, kind(**plain[name]))
        if plain["proposer"] is None:
            self.proposer = make_proposer(self.proposer_spec)
        if isinstance(plain["judge"], bool):
            self.judge = judge_of(self.proposer) if plain["judge"] else None

    def settings_json(self) -> dict[str, Any]:
        return {
            "task_file": str(self.task_file),
            "run_id": self.run_id,
            "proposer": self.proposer_spec,
            "budgets": asdict(self.budgets),
            "candidates_per_round": self.candidates_per_round,
            "screen": asdict(self.screen),
            "verdict": asdict(self.verdict),
            "expert": self.expert,
            "judge": self.judge is not None,
            "profile_runs": self.profile_runs,
        }
