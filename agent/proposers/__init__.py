"""Proposers: sources of candidate edits behind one small Protocol (``base.Proposer``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from perfagent.agent.proposers.base import Attempt, ModelCall, Proposal, ProposalRequest, Proposer

if TYPE_CHECKING:
    from perfagent.agent.models.base import ChatModel


def make_proposer(
    spec: str,
    *,
    base_url: str | None = None,
    timeout: float | None = None,
    max_tokens: int | None = None,
) -> Proposer:
    """``rules``, ``replay:TRAJECTORY``, or a model: ``openai:M``, ``anthropic:M``,
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
    from perfagent.agent.models.base import DEFAULT_MAX_TOKENS, DEFAULT_TIMEOUT_S
    from perfagent.agent.proposers.model import ModelProposer

    chat = make_chat_model(spec, base_url=base_url, timeout=timeout or DEFAULT_TIMEOUT_S)
    return ModelProposer(chat, max_tokens=max_tokens or DEFAULT_MAX_TOKENS)


def judge_of(proposer: Proposer) -> ChatModel | None:
    """The chat model behind a model proposer (it can also judge the final diff), else None."""
    from perfagent.agent.proposers.model import ModelProposer

    return proposer.model if isinstance(proposer, ModelProposer) else None


__all__ = [
    "Attempt",
    "ModelCall",
    "Proposal",
    "ProposalRequest",
    "Proposer",
    "judge_of",
    "make_proposer",
]
