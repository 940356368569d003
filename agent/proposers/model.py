"""The model proposer: a chat model rewrites the profile's hot functions, one candidate each.

For every candidate slot it shows the model one hot function (its code, the profile, the
task's hints, what earlier attempts became), lets it look around with read-only tools, parses
its answer with ``tools.edit.parse_edits`` and applies it as a dry run (the diff, no copy). An
edit that does not parse or apply is sent back with ``EditError.feedback`` for a bounded
number of repairs; what still fails becomes one line in ``Proposal.errors``, never an
exception. The request's tree is only read.

Slots are diversified: different hot functions first, then the same functions again at the
next temperature, told what the round's earlier candidates for them already do. Every call is
recorded as a ``ModelCall``; ``can_spend`` is asked before each one, so a cost budget stops
the round cleanly between calls.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence

from perfagent.agent.models.base import (
    DEFAULT_MAX_TOKENS,
    ChatModel,
    ChatResponse,
    Message,
    ModelError,
    ToolSpec,
)
from perfagent.agent.prompts.propose import propose_messages, repair_message, summary_of
from perfagent.agent.proposers.base import ModelCall, Proposal, ProposalRequest
from perfagent.agent.proposers.exec_tools import (
    EXEC_TOOL_NAMES,
    EXEC_TOOL_SPECS,
    ExecBudget,
    ExecTools,
)
from perfagent.agent.proposers.repo_tools import BUDGET_EXHAUSTED, TOOL_SPECS, RepoTools
from perfagent.agent.proposers.rules import DEFAULT_TOP, Target, targets_from
from perfagent.agent.types import Candidate
from perfagent.tools.edit import EditError, apply_edits, function_context, parse_edits


class _Stop(Exception):
    """No more calls this round (budget reached, or the model failed); the message is the
    line for ``Proposal.errors``."""


def plan(
    targets: Sequence[Target], temperatures: Sequence[float], n: int
) -> list[tuple[Target, float]]:
    """``n`` slots: each target at the first temperature, then each at the next, and so on."""
    order = [(target, t) for t in temperatures for target in targets]
    return [order[i % len(order)] for i in range(n)] if order else []


class ModelProposer:
    name = "model"

    def __init__(
        self,
        chat_model: ChatModel,
        *,
        max_tool_calls: int = 8,
        exec_budget: ExecBudget | None = None,
        temperatures: Sequence[float] = (0.2, 0.7),
        max_repairs: int = 2,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        top: int = DEFAULT_TOP,
        can_spend: Callable[[], bool] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not temperatures:
            raise ValueError("ModelProposer needs at least one temperature")
        self.model = chat_model
        self.max_tool_calls = max_tool_calls
        # try_edit / run_tests per proposal, when the request carries a lab; None: no such tools
        self.exec_budget = exec_budget
        self.temperatures = tuple(temperatures)
        self.max_repairs = max_repairs
        self.max_tokens = max_tokens
        self.top = top
        self.can_spend = can_spend or (lambda: True)
        self._budget_usd: float | None = None
        self.clock = clock

    def propose(self, request: ProposalRequest) -> Proposal:
        proposal = Proposal()
        self._budget_usd = request.budget_usd
        targets = targets_from(
            request.hotspots, request.hints, request.tree, protected=request.protected, top=self.top
        )
        if not targets:
            proposal.errors.append("no target: no unprotected hot function and no usable hint")
            return proposal
        earlier: dict[str, list[str]] = {}
        for target, temperature in plan(targets, self.temperatures, request.max_candidates):
            key = f"{target.file}::{target.qualname}"
            try:
                candidate = self._candidate(
                    request, target, temperature, earlier.get(key, []), proposal
                )
            except _Stop as stop:
                proposal.errors.append(str(stop))
                break
            if candidate is None:
                continue
            twin = next((c for c in proposal.candidates if c.diff == candidate.diff), None)
            if twin is not None:
                proposal.errors.append(f"{key}: the answer repeats {twin.id}")
                continue
            proposal.candidates.append(candidate)
            earlier.setdefault(key, []).append(candidate.rationale or "(no summary given)")
        return proposal

    def _candidate(
        self,
        request: ProposalRequest,
        target: Target,
        temperature: float,
        earlier: Sequence[str],
        proposal: Proposal,
    ) -> Candidate | None:
        label = f"{target.file}::{target.qualname}"
        try:
            context = function_context(request.tree, label).render()
        except EditError as exc:
            proposal.errors.append(f"{label}: cannot show the function: {exc}")
            return None
        execs = (
            ExecTools(
                request.lab,
                request.tree,
                request.protected,
                self.exec_budget,
                record=proposal.tool_runs,
            )
            if request.lab is not None and self.exec_budget is not None
            else None
        )
        messages = propose_messages(
            request,
            file=target.file,
            qualname=target.qualname,
            weight=target.weight,
            context=context,
            max_tool_calls=self.max_tool_calls,
            max_exec_calls=execs.budget.max_calls if execs is not None else 0,
            earlier=earlier,
        )
        tools = RepoTools(request.tree, request.hotspots, request.profile_detail)
        offered = TOOL_SPECS if self.max_tool_calls > 0 else ()
        offered += EXEC_TOOL_SPECS if execs is not None else ()
        used = refused_turns = repairs = 0
        purpose = "propose"
        while True:
            response = self._call(messages, temperature, purpose, proposal, offered)
            if response.tool_calls:
                messages.append(response.assistant_message())
                answered = 0
                for call in response.tool_calls:
                    if call.name in EXEC_TOOL_NAMES and execs is not None:
                        answered += 0 if execs.exhausted else 1
                        content = execs.run(call)
                    elif used < self.max_tool_calls:
                        used += 1
                        answered += 1
                        content = tools.run(call)
                    else:
                        content = BUDGET_EXHAUSTED
                    messages.append(
                        {
                            "role": "tool",
                            "tool_call_id": call.id,
                            "name": call.name,
                            "content": content,
                        }
                    )
                refused_turns += 1 if answered == 0 else 0
                if refused_turns > 1:  # told once that the budget is spent; it kept calling
                    proposal.errors.append(
                        f"{label}: the model kept calling tools after its budget of"
                        f" {self.max_tool_calls} calls"
                    )
                    return None
                continue
            try:
                # A dry run on the run's base tree: the outcome holds the diff; nothing is
                # written, so the tree needs no copy.
                outcome = apply_edits(
                    request.tree,
                    parse_edits(response.text),
                    protected=request.protected,
                    write=False,
                )
            except EditError as exc:
                if repairs >= self.max_repairs:
                    tried = f" (after {repairs} repair{'s' * (repairs > 1)})" if repairs else ""
                    proposal.errors.append(f"{label}: {exc}{tried}")
                    return None
                repairs += 1
                purpose = "repair"
                messages += [response.assistant_message(), repair_message(exc.feedback)]
                continue
            return Candidate(
                id=f"model-{request.round}-{len(proposal.candidates) + 1}",
                source="model",
                diff=outcome.diff,
                files=outcome.changed_files,
                qualname=target.qualname,
                rationale=summary_of(response.text),
                weight=target.weight,
            )

    def _call(
        self,
        messages: list[Message],
        temperature: float,
        purpose: str,
        proposal: Proposal,
        tools: Sequence[ToolSpec] = (),
    ) -> ChatResponse:
        spent = sum(call.cost_usd or 0.0 for call in proposal.calls)
        over = self._budget_usd is not None and spent >= self._budget_usd
        if over or not self.can_spend():
            raise _Stop(f"budget reached: stopped after {len(proposal.calls)} model calls")
        sent = copy.deepcopy(messages)
        start = self.clock()
        try:
            response = self.model.complete(
                messages,
                tools=tools,
                temperature=temperature,
                max_tokens=self.max_tokens,
            )
        except ModelError as exc:
            proposal.calls.append(
                ModelCall(
                    provider=self.model.provider,
                    model=self.model.model,
                    messages=sent,
                    response="",
                    latency_s=self.clock() - start,
                    attempts=exc.attempts,
                    error=str(exc),
                    purpose=purpose,
                )
            )
            raise _Stop(str(exc)) from None
        proposal.calls.append(
            ModelCall(
                provider=self.model.provider,
                model=response.model or self.model.model,
                messages=sent,
                response=response.text,
                tool_calls=[call.to_json() for call in response.tool_calls],
                input_tokens=response.input_tokens,
                output_tokens=response.output_tokens,
                cost_usd=response.cost_usd,
                latency_s=self.clock() - start,
                attempts=response.attempts,
                purpose=purpose,
            )
        )
        return response
