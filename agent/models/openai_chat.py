"""OpenAI chat completions with function calling, through the official ``openai`` SDK.

The same adapter serves OpenAI-compatible servers (Ollama, vLLM, llama.cpp's server) through
``base_url``. Differences handled here:

- OpenAI's own API wants ``max_completion_tokens`` (``max_tokens`` is refused by reasoning
  models); compatible servers know ``max_tokens``, so that is what they get.
- OpenAI's reasoning models (o1, o3, o4, gpt-5) accept only their default temperature, so
  none is sent to them; variety then comes from the prompts.
- Local servers often report no usage: tokens are counted as 0, ``usage_reported`` is False
  and a warning is logged once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

import openai
from openai.types.chat import (
    ChatCompletion,
    ChatCompletionAssistantMessageParam,
    ChatCompletionFunctionToolParam,
    ChatCompletionMessageFunctionToolCallParam,
    ChatCompletionMessageParam,
)

from perfagent.agent.models.base import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_TIMEOUT_S,
    ChatResponse,
    Message,
    ModelError,
    ToolCall,
    ToolSpec,
)
from perfagent.agent.models.pricing import PriceTable, is_local
from perfagent.agent.models.retry import RetryPolicy, call_with_retries

log = logging.getLogger(__name__)

KEY_ENV = "OPENAI_API_KEY"
BASE_URL_ENV = "OPENAI_BASE_URL"
_FIXED_TEMPERATURE = ("o1", "o3", "o4", "gpt-5")


def _official(base_url: str | None) -> bool:
    return base_url is None or "api.openai.com" in base_url


def to_openai_messages(messages: Sequence[Message]) -> list[ChatCompletionMessageParam]:
    out: list[ChatCompletionMessageParam] = []
    for m in messages:
        role, content = m["role"], str(m.get("content") or "")
        if role == "system":
            out.append({"role": "system", "content": content})
        elif role == "user":
            out.append({"role": "user", "content": content})
        elif role == "tool":
            out.append({"role": "tool", "tool_call_id": m["tool_call_id"], "content": content})
        elif role == "assistant":
            turn: ChatCompletionAssistantMessageParam = {"role": "assistant"}
            calls: list[ChatCompletionMessageFunctionToolCallParam] = [
                {
                    "id": c["id"],
                    "type": "function",
                    "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])},
                }
                for c in m.get("tool_calls") or ()
            ]
            if calls:
                turn["tool_calls"] = calls
            if content or not calls:  # an assistant turn needs content or tool calls
                turn["content"] = content
            out.append(turn)
        else:
            raise ValueError(f"unknown message role {role!r}")
    return out


def to_openai_tools(tools: Sequence[ToolSpec]) -> list[ChatCompletionFunctionToolParam]:
    return [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
        }
        for t in tools
    ]


def _arguments(raw: str) -> dict[str, Any]:
    try:
        parsed = json.loads(raw or "{}")
    except ValueError:
        return {"_raw": raw}
    return parsed if isinstance(parsed, dict) else {"_raw": raw}


class OpenAIChatModel:
    provider = "openai"

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
    ) -> None:
        self.model = model
        self.base_url = base_url
        self.local = is_local(base_url) if local is None else local
        self.retry = retry or RetryPolicy()
        self.prices = prices or PriceTable()
        self._key = api_key
        self._warned_usage = False
        # max_retries=0: ``self.retry`` is the only retry policy (see agent.models.retry).
        self.client = openai.OpenAI(
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
        official = _official(self.base_url)
        fixed = official and self.model.startswith(_FIXED_TEMPERATURE)

        def send() -> ChatCompletion:
            return self.client.chat.completions.create(
                model=self.model,
                messages=to_openai_messages(messages),
                tools=to_openai_tools(tools) if tools else openai.omit,
                max_completion_tokens=max_tokens if official else openai.omit,
                max_tokens=openai.omit if official else max_tokens,
                temperature=openai.omit if fixed else temperature,
            )

        completion, attempts = call_with_retries(
            send,
            policy=self.retry,
            label=f"openai:{self.model}",
            key_env=KEY_ENV,
            secrets=[self._key],
        )
        return self._response(completion, attempts)

    def _response(self, completion: ChatCompletion, attempts: int) -> ChatResponse:
        if not completion.choices:
            raise ModelError(f"openai:{self.model}: the answer had no choices", attempts=attempts)
        choice = completion.choices[0]
        calls = [
            ToolCall(c.id, c.function.name, _arguments(c.function.arguments))
            for c in choice.message.tool_calls or ()
            if c.type == "function"
        ]
        usage = completion.usage
        if usage is None and not self._warned_usage:
            self._warned_usage = True
            log.warning("openai:%s reports no token usage; counting 0 tokens", self.model)
        tokens_in = usage.prompt_tokens if usage else 0
        tokens_out = usage.completion_tokens if usage else 0
        model = completion.model or self.model
        # A user's price override is keyed by the name they configured; the answer may name
        # a dated snapshot of it.
        cost = self.prices.cost(self.model, tokens_in, tokens_out, local=self.local)
        if cost is None:
            cost = self.prices.cost(model, tokens_in, tokens_out, local=self.local)
        return ChatResponse(
            text=choice.message.content or "",
            tool_calls=calls,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            model=model,
            stop_reason=str(choice.finish_reason or ""),
            usage_reported=usage is not None,
            # Unknown usage on a paid API is an unknown cost, not a free call.
            cost_usd=cost if usage is not None or self.local else None,
            attempts=attempts,
        )
