"""What a call cost: USD per million input/output tokens, per model.

The built-in table holds the list prices OpenAI and Anthropic published for common models
(the newest ones may be missing). Prices change, so a JSON file named by ``PERFAGENT_PRICES``
or the ``prices`` argument overrides or extends it:

    {"gpt-4o": {"input": 2.5, "output": 10.0}, "my-model": [0.5, 1.5]}

A dated snapshot (``gpt-4o-2024-08-06``, ``claude-sonnet-4-20250514``) is priced as the
longest table name it extends. An unknown model costs ``None`` (unknown, not free), so a
``--max-cost`` budget can say it cannot be enforced; a model on a local server costs 0.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from perfagent.agent.models.base import ModelError

PRICES_ENV = "PERFAGENT_PRICES"

# model -> (USD per 1M input tokens, USD per 1M output tokens)
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
    "o3": (2.00, 8.00),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
    "claude-opus-4": (15.00, 75.00),
    "claude-opus-4-1": (15.00, 75.00),
    "claude-opus-4-5": (5.00, 25.00),
    "claude-opus-4-6": (5.00, 25.00),
    "claude-opus-4-7": (5.00, 25.00),
    "claude-sonnet-4": (3.00, 15.00),
    "claude-sonnet-4-5": (3.00, 15.00),
    "claude-sonnet-4-6": (3.00, 15.00),
    "claude-haiku-4-5": (1.00, 5.00),
    "claude-3-7-sonnet": (3.00, 15.00),
    "claude-3-5-sonnet": (3.00, 15.00),
    "claude-3-5-haiku": (0.80, 4.00),
}


def is_local(base_url: str | None) -> bool:
    """Whether ``base_url`` points at this machine or a private network (Ollama, vLLM, ...),
    where calls cost nothing per token."""
    if not base_url:
        return False
    host = urlparse(base_url if "//" in base_url else f"//{base_url}").hostname or ""
    if host in ("localhost", "host.docker.internal") or host.endswith(".local"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_unspecified


def _price(value: Any, where: str) -> tuple[float, float]:
    if isinstance(value, Mapping):
        value = (value.get("input"), value.get("output"))
    if (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in value)
    ):
        return float(value[0]), float(value[1])
    raise ModelError(
        f"{where}: a price must be {{'input': USD, 'output': USD}} per million tokens"
        f" or [input, output], got {value!r}"
    )


def load_prices(path: Path) -> dict[str, tuple[float, float]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: cannot read the price table: {exc}") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path}: the price table must be a JSON object of model -> price")
    return {str(name): _price(value, f"{path}: {name}") for name, value in data.items()}


class PriceTable:
    """Prices per model: the built-in table, then ``PERFAGENT_PRICES``, then ``prices``."""

    def __init__(
        self,
        prices: Mapping[str, Any] | None = None,
        *,
        env: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if env is None else env
        self.prices: dict[str, tuple[float, float]] = dict(DEFAULT_PRICES)
        if env.get(PRICES_ENV):
            self.prices.update(load_prices(Path(env[PRICES_ENV])))
        for name, value in (prices or {}).items():
            self.prices[name] = _price(value, f"price of {name}")

    def lookup(self, model: str) -> tuple[float, float] | None:
        if model in self.prices:
            return self.prices[model]
        # Providers report dated snapshots; the longest name the snapshot extends wins, so
        # "gpt-4o-mini-2024-07-18" is priced as gpt-4o-mini, not gpt-4o.
        base = [name for name in self.prices if model.startswith(name + "-")]
        return self.prices[max(base, key=len)] if base else None

    def cost(
        self, model: str, input_tokens: int, output_tokens: int, *, local: bool = False
    ) -> float | None:
        if local:
            return 0.0
        price = self.lookup(model)
        if price is None:
            return None
        return (input_tokens * price[0] + output_tokens * price[1]) / 1_000_000
