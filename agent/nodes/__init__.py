"""The graph's nodes: plain functions of (state, runtime) returning partial updates."""

from agent.nodes.decision import decide
from agent.nodes.evaluation import check, screen, verdict
from agent.nodes.finish import finalize, write_outputs
from agent.nodes.judging import judge
from agent.nodes.profiling import profile, profile_final
from agent.nodes.proposing import propose
from agent.nodes.start import baseline, prepare

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
