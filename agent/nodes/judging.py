"""With a model configured, an LLM judge reads the final diff; its concerns become flags."""

from __future__ import annotations

import copy
import time

from langgraph.runtime import Runtime

from perfagent.agent.context import RunContext
from perfagent.agent.models.base import ModelError
from perfagent.agent.nodes._common import Update, task_of, timed
from perfagent.agent.prompts.judge import judge_messages, parse_judgement
from perfagent.agent.proposers.base import ModelCall
from perfagent.agent.state import AgentState
from perfagent.tools.progress import StageStarted


@timed("judge")
def judge(state: AgentState, *, runtime: Runtime[RunContext]) -> Update:
    ctx = runtime.context
    final = dict(state.get("final") or {})
    if ctx.judge is None or not final.get("patch"):
        return {}
    ctx.progress(StageStarted("judge", "asking the judge model to review the final diff"))
    task = task_of(state)
    messages = judge_messages(final["patch"], [w.label for w in task.workloads()])
    started = time.monotonic()
    verdict: str | None = None
    concerns: list[str] = []
    call = ModelCall(
        provider=ctx.judge.provider,
        model=ctx.judge.model,
        messages=copy.deepcopy(messages),
        response="",
        purpose="judge",
    )
    try:
        answer = ctx.judge.complete(messages, temperature=0.0, max_tokens=1024)
    except ModelError as exc:
        call.error, call.attempts = str(exc), exc.attempts
    else:
        call.response, call.attempts = answer.text, answer.attempts
        call.input_tokens, call.output_tokens = answer.input_tokens, answer.output_tokens
        call.cost_usd, call.model = answer.cost_usd, answer.model or call.model
        verdict, concerns = parse_judgement(answer.text)
    call.latency_s = time.monotonic() - started
    if verdict == "suspicious":
        flags = [f"judge: {c}" for c in concerns] or ["judge: suspicious (no reason given)"]
    elif verdict is None:
        flags = ["judge: no verdict (the review could not be read; see the trajectory)"]
    else:
        flags = []
    final["flags"] = sorted({*final.get("flags", []), *flags})
    final["judge"] = {"verdict": verdict, "concerns": concerns}
    return {
        "final": final,
        "calls": [{**call.to_json(), "round": state.get("round", 0)}],
        "_timing": {"model_s": call.latency_s},
    }
