"""The optimisation loop as a LangGraph graph.

    prepare → baseline → profile → propose → (check → screen → verdict)* → decide
                            ↑___________________________________________|   ↓
                                        finalize → (judge) → profile_final → write_outputs

``build_graph()`` returns the uncompiled graph (tests compile it fresh, with their own
checkpointer); ``graph`` is the compiled one LangGraph Studio opens via ``langgraph.json``.
"""

from __future__ import annotations

from typing import Literal

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from perfagent.agent.context import RunContext
from perfagent.agent.nodes import (
    baseline,
    check,
    decide,
    finalize,
    judge,
    prepare,
    profile,
    profile_final,
    propose,
    screen,
    verdict,
    write_outputs,
)
from perfagent.agent.nodes._common import budget_stop
from perfagent.agent.state import AgentState
from perfagent.agent.types import Stage


def _next_candidate(
    state: AgentState, *, runtime: Runtime[RunContext]
) -> Literal["check", "decide"]:
    """Evaluate the next pending candidate unless a budget ran out mid-round."""
    if state.get("pending") and budget_stop(state, runtime.context) is None:
        return "check"
    return "decide"


def passed(state: AgentState, stage: Stage) -> bool:
    """Did the candidate just evaluated pass ``stage``? (Its record says; not its queue.)"""
    cid = state.get("evaluated")
    record = state.get("candidates", {}).get(cid) if cid else None
    return record is not None and record["outcome"] == "pending" and record["stage"] == stage


def _after_check(
    state: AgentState, *, runtime: Runtime[RunContext]
) -> Literal["screen", "check", "decide"]:
    if passed(state, "static"):
        return "screen"
    return _next_candidate(state, runtime=runtime)


def _after_screen(
    state: AgentState, *, runtime: Runtime[RunContext]
) -> Literal["verdict", "check", "decide"]:
    if passed(state, "screen"):
        return "verdict"
    return _next_candidate(state, runtime=runtime)


def _after_decide(state: AgentState) -> Literal["profile", "finalize"]:
    return "finalize" if state.get("stop_reason") else "profile"


def _after_final(
    state: AgentState, *, runtime: Runtime[RunContext]
) -> Literal["judge", "profile_final", "write_outputs"]:
    if not state.get("baseline_patch"):
        return "write_outputs"
    return "judge" if runtime.context.judge is not None else "profile_final"


def build_graph() -> StateGraph[AgentState, RunContext, AgentState, AgentState]:
    builder = StateGraph(AgentState, context_schema=RunContext)
    for name, node in {
        "prepare": prepare,
        "baseline": baseline,
        "profile": profile,
        "propose": propose,
        "check": check,
        "screen": screen,
        "verdict": verdict,
        "decide": decide,
        "finalize": finalize,
        "judge": judge,
        "profile_final": profile_final,
        "write_outputs": write_outputs,
    }.items():
        builder.add_node(name, node)
    builder.add_edge(START, "prepare")
    builder.add_edge("prepare", "baseline")
    builder.add_edge("baseline", "profile")
    builder.add_edge("profile", "propose")
    builder.add_conditional_edges("propose", _next_candidate)
    builder.add_conditional_edges("check", _after_check)
    builder.add_conditional_edges("screen", _after_screen)
    builder.add_conditional_edges("verdict", _next_candidate)
    builder.add_conditional_edges("decide", _after_decide)
    builder.add_conditional_edges("finalize", _after_final)
    builder.add_edge("judge", "profile_final")
    builder.add_edge("profile_final", "write_outputs")
    builder.add_edge("write_outputs", END)
    return builder


graph = build_graph().compile()
