"""Anthropic's messages API with tool use, through the official ``anthropic`` SDK.

Translation from the neutral messages: system messages become the separate ``system``
prompt; an assistant turn's tool calls become ``tool_use`` blocks; tool results become
``tool_result`` blocks of a user turn. Consecutive turns of one role are merged, because the
API wants all results of one assistant turn in the single user turn that follows it.

The SDK (2.x) no longer takes a ``temperature``: current models choose their own sampling.
``send_temperature=True`` still sends it (in the request body) for models that accept it;
otherwise candidates differ through their prompts.
"""

from __future__ import annotations

from collections.abc import Sequence

import anthropic
from anthropic.types import ContentBlockParam, MessageParam, ToolParam
from anthropic.types import Message as AnthropicMessage

from perfagent.agent.models.base import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_TIMEOUT_S,
    ChatResponse,
    Message,
    ToolCall,
    ToolSpec,
)
from perfagent.agent.models.pricing import PriceTable, is_local
from perfagent.agent.models.retry import RetryPolicy, call_with_retries

KEY_ENV = "ANTHROPIC_API_KEY"
BASE_URL_ENV = "ANTHROPIC_BASE_URL"


def _blocks(message: Message) -> list[ContentBlockParam]:
    content = str(message.get("content") or "")
    role = message["role"]
    if role == "tool":
        return [{"type": "tool_result", "tool_use_id": message["tool_call_id"], "content": content}]
    blocks: list[ContentBlockParam] = [{"type": "text", "text": content}] if content else []
    if role == "assistant":
        blocks += [
            {"type": "tool_use", "id": c["id"], "name": c["name"], "input": c["arguments"]}
            for c in message.get("tool_calls") or ()
        ]
    return blocks


def to_anthropic(messages: Sequence[Message]) -> tuple[str, list[MessageParam]]:
    """The system prompt and the alternating user/assistant turns."""
    system = "\n\n".join(str(m.get("content") or "") for m in messages if m["role"] == "system")
    turns: list[tuple[str, list[ContentBlockParam]]] = []
    for m in messages:
        if m["role"] == "system":
            continue
        if m["role"] not in ("user", "assistant", "tool"):
            raise ValueError(f"unknown message role {m['role']!r}")
        role = "assistant" if m["role"] == "assistant" else "user"
        blocks = _blocks(m)
        if turns and turns[-1][0] == role:
            turns[-1][1].extend(blocks)
        else:
            turns.append((role, blocks))
    out: list[MessageParam] = []
    for role, blocks in turns:
        blocks = blocks or [{"type": "text", "text": "(empty)"}]  # the API refuses empty turns
        if role == "assistant":
            out.append({"role": "assistant", "content": blocks})
        else:
            out.append({"role": "user", "content": blocks})
    return system, out


def to_anthropic_tools(tools: Sequence[ToolSpec]) -> list[ToolParam]:
    return [
        {"name": t.name, "description": t.description, "input_schema": t.parameters} for t in tools
    ]


class AnthropicChatModel:
    provider = "anthropic"

    def __init__(
        self,
        model: str,
        *,
        api_key: str,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy | None = None,
        prices: PriceTable | None = None,
        local: bool | None = None,
        send_temperature: bool = False,
    ) -> None:
        self.model = model
        self.local = is_local(base_url) if local is None else local
        self.retry = retry or RetryPolicy()
        self.prices = prices or PriceTable()
        self.send_temperature = send_temperature
        self._key = api_key
        # max_retries=0: ``self.retry`` is the only retry policy (see agent.models.retry).
        self.client = anthropic.Anthropic(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0
        )

    def complete(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        temperature: float = 0.2,
        max_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> ChatResponse:
        system, turns = to_anthropic(messages)

        def send() -> AnthropicMessage:
            return self.client.messages.create(
                model=self.model,
                max_tokens=max_tokens,
                messages=turns,
                system=system or anthropic.omit,
                tools=to_anthropic_tools(tools) if tools else anthropic.omit,
                extra_body={"temperature": temperature} if self.send_temperature else None,
            )

        answer, attempts = call_with_retries(
            send,
            policy=self.retry,
            label=f"anthropic:{self.model}",
            key_env=KEY_ENV,
            secrets=[self._key],
        )
        text = "".join(block.text for block in answer.content if block.type == "text")
        calls = [
            ToolCall(block.id, block.name, dict(block.input))
            for block in answer.content
            if block.type == "tool_use"
        ]
        tokens_in, tokens_out = answer.usage.input_tokens, answer.usage.output_tokens
        cost = self.prices.cost(self.model, tokens_in, tokens_out, local=self.local)
        if cost is None:
            cost = self.prices.cost(answer.model, tokens_in, tokens_out, local=self.local)
        return ChatResponse(
            text=text,
            tool_calls=calls,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            model=answer.model or self.model,
            stop_reason=str(answer.stop_reason or ""),
            cost_usd=cost,
            attempts=attempts,
        )
