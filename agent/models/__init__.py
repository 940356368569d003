"""Chat models behind one small Protocol (``ChatModel``), chosen by a ``provider:model`` spec.

    model = make_chat_model("openai:gpt-4o-mini")                 # OPENAI_API_KEY
    model = make_chat_model("openai:qwen2.5-coder", base_url="http://localhost:11434/v1")
    model = make_chat_model("anthropic:claude-sonnet-4-5")        # ANTHROPIC_API_KEY
    model = make_chat_model("fake:tests/script.yaml")             # see agent.models.fake

Keys come from the environment only, never from flags or files that may be recorded. An
OpenAI-compatible server on this machine or a private network needs no key. Adapters are
imported when chosen, so using one SDK never pays for importing the other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from perfagent.agent.models.base import (
    DEFAULT_TIMEOUT_S,
    ChatModel,
    ChatResponse,
    Message,
    ModelError,
    ToolCall,
    ToolSpec,
)
from perfagent.agent.models.pricing import PriceTable, is_local
from perfagent.agent.models.retry import RetryPolicy
from perfagent.tools import secrets

__all__ = [
    "PROVIDERS",
    "ChatModel",
    "ChatResponse",
    "Message",
    "ModelError",
    "PriceTable",
    "RetryPolicy",
    "ToolCall",
    "ToolSpec",
    "make_chat_model",
]

# A local server ignores the key, but the SDK refuses to start without one.
LOCAL_PLACEHOLDER_KEY = "not-needed"


def _key(env: Mapping[str, str], name: str, spec: str, base_url: str | None) -> str:
    key = env.get(name, "").strip()
    if key:
        return key
    if is_local(base_url):
        return LOCAL_PLACEHOLDER_KEY
    raise ModelError(f"{spec}: {name} is not set; export it to use this model")


@dataclass(frozen=True)
class Options:
    base_url: str | None
    timeout: float
    env: Mapping[str, str]
    retry: RetryPolicy | None
    prices: PriceTable | None

    def price_table(self) -> PriceTable:
        return self.prices if self.prices is not None else PriceTable(env=self.env)


def _openai(name: str, o: Options) -> ChatModel:
    from perfagent.agent.models.openai_chat import BASE_URL_ENV, KEY_ENV, OpenAIChatModel

    url = o.base_url or o.env.get(BASE_URL_ENV) or None
    key = _key(o.env, KEY_ENV, f"openai:{name}", url)
    return OpenAIChatModel(
        name, api_key=key, base_url=url, timeout=o.timeout, retry=o.retry, prices=o.price_table()
    )


def _anthropic(name: str, o: Options) -> ChatModel:
    from perfagent.agent.models.anthropic_chat import BASE_URL_ENV, KEY_ENV, AnthropicChatModel

    url = o.base_url or o.env.get(BASE_URL_ENV) or None
    key = _key(o.env, KEY_ENV, f"anthropic:{name}", url)
    return AnthropicChatModel(
        name, api_key=key, base_url=url, timeout=o.timeout, retry=o.retry, prices=o.price_table()
    )


def _fake(name: str, o: Options) -> ChatModel:
    from perfagent.agent.models.fake import ScriptedChatModel

    return ScriptedChatModel.from_file(name)


# Short provider names mapped to factories, as mini-swe-agent maps its model classes.
PROVIDERS: dict[str, Callable[[str, Options], ChatModel]] = {
    "openai": _openai,
    "anthropic": _anthropic,
    "fake": _fake,
}


def make_chat_model(
    spec: str,
    *,
    base_url: str | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    retry: RetryPolicy | None = None,
    prices: PriceTable | None = None,
    env: Mapping[str, str] | None = None,
) -> ChatModel:
    """The chat model for ``spec`` (``provider:model``; ``fake:PATH`` for a script).

    ``base_url`` (else ``OPENAI_BASE_URL`` / ``ANTHROPIC_BASE_URL``) points an adapter at
    another server; ``timeout`` is per request, in seconds. ``env`` defaults to
    ``os.environ`` with its credentials taken out of it (``tools.secrets.environment()``).
    Raises ``ModelError`` for an unknown provider or a missing key.
    """
    provider, sep, name = spec.partition(":")
    provider, name = provider.strip().lower(), name.strip()
    if not sep or not name:
        raise ModelError(
            f"model {spec!r}: expected provider:model, e.g. openai:gpt-4o-mini"
            f" (providers: {', '.join(PROVIDERS)})"
        )
    if provider not in PROVIDERS:
        raise ModelError(
            f"model {spec!r}: unknown provider {provider!r}; use {', '.join(PROVIDERS)}"
        )
    # Keys leave os.environ (and /proc/self/environ) here, once read: see tools/secrets.py.
    options = Options(
        base_url, timeout, secrets.environment() if env is None else env, retry, prices
    )
    return PROVIDERS[provider](name, options)
