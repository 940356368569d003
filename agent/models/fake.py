"""A scripted chat model: replays canned answers in order and records every request.

For tests and offline demos (``--model fake:script.yaml``), in the spirit of mini-swe-agent's
DeterministicModel. A script file is JSON or YAML, either a list of responses or

    model: scripted            # optional, the name reported in calls
    price: {input: 1.0, output: 2.0}   # optional, USD per million tokens (default free)
    responses:
      - "Summary: ...\\n<edit blocks>"           # a plain string: the answer's text
      - text: "let me look first"                # or a mapping:
        tool_calls:
          - {name: read_function, arguments: {qualname: total}}   # id optional
      - error: "rate limited"                    # raises ModelError with this message

Token counts are deterministic: characters // 4 of what was sent and of what is answered.
When the script runs out, ``complete`` raises ``ModelError`` saying how many were used.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from perfagent.agent.models.base import (
    DEFAULT_MAX_TOKENS,
    ChatResponse,
    Message,
    ModelError,
    ToolCall,
    ToolSpec,
)

CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class ScriptedResponse:
    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    stop_reason: str = ""
    error: str | None = None  # raise ModelError(error) instead of answering


@dataclass(frozen=True)
class Request:
    """One call as the fake received it (deep copies, safe to assert on)."""

    messages: list[Message]
    tools: list[str]  # tool names offered
    temperature: float
    max_tokens: int


def _response(entry: Any, index: int, where: str) -> ScriptedResponse:
    if isinstance(entry, ScriptedResponse):
        return entry
    if isinstance(entry, str):
        return ScriptedResponse(text=entry)
    if not isinstance(entry, Mapping):
        raise ModelError(f"{where}: response {index + 1} must be a string or a mapping")
    unknown = set(entry) - {"text", "tool_calls", "stop_reason", "error"}
    if unknown:
        raise ModelError(f"{where}: response {index + 1} has unknown keys {sorted(unknown)}")
    calls = []
    for n, call in enumerate(entry.get("tool_calls") or ()):
        if not isinstance(call, Mapping) or not isinstance(call.get("name"), str):
            raise ModelError(f"{where}: response {index + 1}: a tool call needs a 'name'")
        arguments = call.get("arguments") or {}
        if not isinstance(arguments, Mapping):
            raise ModelError(f"{where}: response {index + 1}: 'arguments' must be a mapping")
        calls.append(
            ToolCall(
                str(call.get("id") or f"call_{index + 1}_{n + 1}"), call["name"], dict(arguments)
            )
        )
    return ScriptedResponse(
        text=str(entry.get("text") or ""),
        tool_calls=tuple(calls),
        stop_reason=str(entry.get("stop_reason") or ""),
        error=None if entry.get("error") is None else str(entry["error"]),
    )


def _tokens(text: str) -> int:
    return len(text) // CHARS_PER_TOKEN


class ScriptedChatModel:
    provider = "fake"

    def __init__(
        self,
        responses: Sequence[ScriptedResponse | str | Mapping[str, Any]],
        *,
        model: str = "scripted",
        price: tuple[float, float] = (0.0, 0.0),
        source: str = "script",
    ) -> None:
        self.model = model
        self.price = price  # USD per million input, output tokens
        self.source = source
        self.responses = [_response(r, i, source) for i, r in enumerate(responses)]
        self.requests: list[Request] = []

    @classmethod
    def from_file(cls, path: str | Path) -> ScriptedChatModel:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
            data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise ModelError(
                f"fake:{path}: cannot read the script: {' '.join(str(exc).split())}"
            ) from None
        if isinstance(data, list):
            data = {"responses": data}
        if not isinstance(data, dict) or not isinstance(data.get("responses"), list):
            raise ModelError(f"fake:{path}: the script must be a list or have a 'responses' list")
        price = data.get("price") or {}
        try:
            pair = (float(price.get("input", 0.0)), float(price.get("output", 0.0)))
        except (AttributeError, TypeError, ValueError):
            raise ModelError(f"fake:{path}: 'price' must be {{input: USD, output: USD}}") from None
        return cls(
            data["responses"],
            model=str(data.get("model") or "scripted"),
            price=pair,
            source=f"fake:{path}",
        )

    @property
    def remaining(self) -> int:
        return len(self.responses) - len(self.requests)

    def complete(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        temperature: float = 0.2,
        max_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> ChatResponse:
        index = len(self.requests)
        if index >= len(self.responses):
            raise ModelError(
                f"{self.source}: the script has no response left (all {len(self.responses)}"
                " were used)"
            )
        self.requests.append(
            Request(copy.deepcopy(list(messages)), [t.name for t in tools], temperature, max_tokens)
        )
        scripted = self.responses[index]
        if scripted.error is not None:
            raise ModelError(f"{self.source}: {scripted.error}")
        sent = "".join(str(m.get("content") or "") for m in messages)
        answered = scripted.text + "".join(
            json.dumps(c.to_json(), sort_keys=True) for c in scripted.tool_calls
        )
        tokens_in, tokens_out = _tokens(sent), _tokens(answered)
        return ChatResponse(
            text=scripted.text,
            tool_calls=list(scripted.tool_calls),
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            model=self.model,
            stop_reason=scripted.stop_reason or ("tool_calls" if scripted.tool_calls else "stop"),
            cost_usd=(tokens_in * self.price[0] + tokens_out * self.price[1]) / 1_000_000,
        )
