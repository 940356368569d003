"""The chat-model contract: provider-neutral messages in, one answer (text and/or tool calls) out.

Messages are plain dicts so they can be recorded in a trajectory as they are:

    {"role": "system" | "user", "content": str}
    {"role": "assistant", "content": str, "tool_calls": [{"id", "name", "arguments": dict}]}
    {"role": "tool", "tool_call_id": str, "name": str, "content": str}

Adapters translate them to their provider's wire format; nothing outside ``agent/models``
sees an SDK type.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from perfagent.tools.errors import PerfagentError

Message = dict[str, Any]

DEFAULT_MAX_TOKENS = 4096
DEFAULT_TIMEOUT_S = 120.0


class ModelError(PerfagentError):
    """A model call failed for a reason retrying will not fix (auth, bad request, exhausted
    retries, a script that ran out). ``attempts`` is how many requests were made."""

    def __init__(self, message: str, *, attempts: int = 1) -> None:
        super().__init__(message)
        self.attempts = attempts


@dataclass(frozen=True)
class ToolSpec:
    """A function the model may call; ``parameters`` is a JSON schema of type ``object``."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    # Parsed JSON arguments. Arguments that were not a JSON object arrive as {"_raw": text}
    # so the tool can tell the model what was wrong instead of the call failing.
    arguments: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ChatResponse:
    text: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    model: str = ""
    stop_reason: str = ""  # the provider's own value ("stop", "tool_calls", "end_turn", ...)
    usage_reported: bool = True  # False: the server sent no usage, tokens are counted as 0
    cost_usd: float | None = None  # None when the model's price is unknown
    attempts: int = 1  # 1 + retries

    def assistant_message(self) -> Message:
        """This answer as the assistant turn of a continued conversation."""
        message: Message = {"role": "assistant", "content": self.text}
        if self.tool_calls:
            message["tool_calls"] = [call.to_json() for call in self.tool_calls]
        return message


class ChatModel(Protocol):
    """Anything that answers a conversation: a provider adapter or a scripted fake."""

    provider: str  # "openai", "anthropic", "fake"
    model: str

    def complete(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        temperature: float = 0.2,
        max_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> ChatResponse: ...


# Key-shaped tokens (OpenAI "sk-...", Anthropic "sk-ant-...", bearer tokens) that a provider
# may echo in an error message; they must never reach a trajectory or a log.
_KEYLIKE = re.compile(r"\b(?:sk|key|ak)-[A-Za-z0-9_\-]{6,}|\bBearer\s+\S+", re.I)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with the given secrets and anything shaped like an API key replaced."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return _KEYLIKE.sub("[redacted]", text)


def one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
