"""Proposers: sources of candidate edits behind one small Protocol (``base.Proposer``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from perfagent.agent.proposers.base import Attempt, ModelCall, Proposal, ProposalRequest, Proposer

if TYPE_CHECKING:
    from perfagent.agent.models.base import ChatModel


EXPERT = "expert"  # the model spec of the ceiling benchmark


def make_proposer(
    spec: str,
    *,
    base_url: str | None = None,
    timeout: float | None = None,
    max_tokens: int | None = None,
    task_file: Path | None = None,
) -> Proposer:
    """``rules``, ``replay:TRAJECTORY``, ``expert`` (a model answering with the expert patch
    of ``task_file``: the ceiling benchmark), or a model: ``openai:M``, ``anthropic:M``,
    ``fake:SCRIPT``; ``timeout`` (seconds per request) and ``max_tokens`` (per answer) apply
    to a model, default when None. Imports are local so a rules run never loads the SDKs."""
    if spec == "rules":
        from perfagent.agent.proposers.rules import RuleProposer

        return RuleProposer()
    if spec.startswith("replay:"):
        from perfagent.agent.proposers.replay import ReplayProposer
        from perfagent.agent.report import load_trajectory

        path = Path(spec.removeprefix("replay:"))
        return ReplayProposer(load_trajectory(path), path)
    from perfagent.agent.models import make_chat_model
    from perfagent.agent.models.base import DEFAULT_MAX_TOKENS, DEFAULT_TIMEOUT_S, ModelError
    from perfagent.agent.proposers.exec_tools import ExecBudget
    from perfagent.agent.proposers.model import ModelProposer

    if spec == EXPERT:
        from perfagent.agent.models.expert import ExpertChatModel

        if task_file is None:
            raise ModelError("--model expert needs a task file with an expert")
        # No read-only tools: the answer does not depend on anything they would show.
        return ModelProposer(ExpertChatModel.for_task(task_file), max_tool_calls=0)

    chat = make_chat_model(spec, base_url=base_url, timeout=timeout or DEFAULT_TIMEOUT_S)
    return ModelProposer(
        chat, max_tokens=max_tokens or DEFAULT_MAX_TOKENS, exec_budget=ExecBudget()
    )


def judge_of(proposer: Proposer) -> ChatModel | None:
    """The chat model behind a model proposer (it can also judge the final diff), else None;
    the expert model cannot judge (it only knows one answer)."""
    from perfagent.agent.proposers.model import ModelProposer

    if not isinstance(proposer, ModelProposer) or proposer.model.provider == EXPERT:
        return None
    return proposer.model


__all__ = [
    "EXPERT",
    "Attempt",
    "ModelCall",
    "Proposal",
    "ProposalRequest",
    "Proposer",
    "judge_of",
    "make_proposer",
]
