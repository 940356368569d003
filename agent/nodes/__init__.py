"""The graph's nodes: plain functions of (state, runtime) returning partial updates."""

from perfagent.agent.nodes.decision import decide
from perfagent.agent.nodes.evaluation import check, screen, verdict
from perfagent.agent.nodes.finish import finalize, write_outputs
from perfagent.agent.nodes.judging import judge
from perfagent.agent.nodes.profiling import profile, profile_final
from perfagent.agent.nodes.proposing import propose
from perfagent.agent.nodes.start import baseline, prepare

__all__ = [
    "baseline",
    "check",
    "decide",
    "finalize",
    "judge",
    "prepare",
    "profile",
    "profile_final",
    "propose",
    "screen",
    "verdict",
    "write_outputs",
]
