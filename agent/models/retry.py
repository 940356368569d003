"""Retries for transient provider errors; everything else fails at once, as one line.

Transient: rate limits (429), timeouts and connection errors, lock conflicts (409), request
timeouts (408) and server errors (5xx, Anthropic's 529 "overloaded" included) -- the same set
the SDKs retry themselves. The retrying is tenacity's (stop after ``max_attempts``, retry only
transient errors, an injectable ``sleep``); our adapters turn the SDKs' own retries off so
that there is one policy, and so that every attempt is counted in the call's record (the
SDKs do not say how many requests a call took). The delay doubles per attempt from
``base_delay`` up to ``max_delay`` with "equal jitter" (half fixed, half random) so clients
that failed together do not retry together; a server's ``Retry-After`` is honoured up to
``max_delay`` (tenacity's own waits cannot read a response header).

Not transient: authentication, permissions, bad requests, unknown models. They raise
``ModelError`` with a one-line, key-free message on the first attempt.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import tenacity

from perfagent.agent.models.base import ModelError, one_line, redact

T = TypeVar("T")

TRANSIENT_STATUS = frozenset({408, 409, 429})


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        cap = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        wait = cap / 2 + self.rng.uniform(0, cap / 2)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_delay))
        return wait


def _status(exc: BaseException) -> int | None:
    # Only the SDKs already imported can have raised ``exc``; importing the other one here
    # would cost a second of start-up for nothing.
    if "openai" in sys.modules:
        import openai

        if isinstance(exc, openai.APIStatusError):
            return exc.status_code
    if "anthropic" in sys.modules:
        import anthropic

        if isinstance(exc, anthropic.APIStatusError):
            return exc.status_code
    return None


def is_sdk_error(exc: BaseException) -> bool:
    if "openai" in sys.modules:
        import openai

        if isinstance(exc, openai.OpenAIError):
            return True
    if "anthropic" in sys.modules:
        import anthropic

        if isinstance(exc, anthropic.AnthropicError):
            return True
    return False


def _is_connection_error(exc: BaseException) -> bool:
    if "openai" in sys.modules:
        import openai

        if isinstance(exc, openai.APIConnectionError):
            return True
    if "anthropic" in sys.modules:
        import anthropic

        if isinstance(exc, anthropic.APIConnectionError):
            return True
    return False


def is_transient(exc: BaseException) -> bool:
    if _is_connection_error(exc):
        return True
    status = _status(exc)
    return status is not None and (status in TRANSIENT_STATUS or status >= 500)


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    try:
        return float(headers.get("retry-after", ""))
    except (TypeError, ValueError):
        return None  # an HTTP date, or absent: the backoff decides


def _body_message(body: Any) -> str | None:
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
        if isinstance(body.get("message"), str):
            return str(body["message"])
    return None


_KINDS = {
    400: "bad request",
    401: "authentication failed",
    403: "permission denied",
    404: "not found",
    408: "request timeout",
    409: "conflict",
    413: "request too large",
    422: "unprocessable request",
    429: "rate limited",
}


def describe(exc: BaseException) -> str:
    """What went wrong, in a few words plus the provider's message."""
    status = _status(exc)
    if status is not None:
        kind = _KINDS.get(status, "server error" if status >= 500 else "request failed")
        message = _body_message(getattr(exc, "body", None)) or str(exc)
        return f"{kind} ({status}): {message}"
    if _is_connection_error(exc):
        name = type(exc).__name__
        return "timed out" if "Timeout" in name else f"connection failed: {exc}"
    return f"{type(exc).__name__}: {exc}"


def _wait(policy: RetryPolicy) -> Callable[[tenacity.RetryCallState], float]:
    def wait(state: tenacity.RetryCallState) -> float:
        failed = state.outcome.exception() if state.outcome is not None else None
        retry_after = _retry_after(failed) if failed is not None else None
        return policy.delay(state.attempt_number, retry_after)

    return wait


def call_with_retries(
    fn: Callable[[], T],
    *,
    policy: RetryPolicy,
    label: str,
    key_env: str | None = None,
    secrets: Iterable[str | None] = (),
) -> tuple[T, int]:
    """``fn()`` and the number of attempts it took. SDK errors become ``ModelError`` whose
    message starts with ``label`` (e.g. "openai:gpt-4o"); other exceptions are bugs and
    propagate unchanged."""
    secrets = tuple(secrets)
    attempts = 0

    def attempt() -> T:
        nonlocal attempts
        attempts += 1
        return fn()

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(policy.max_attempts),
        wait=_wait(policy),
        retry=tenacity.retry_if_exception(is_transient),
        sleep=policy.sleep,
        reraise=True,  # the last error itself, not tenacity's RetryError
    )
    try:
        return retrying(attempt), attempts
    except Exception as exc:
        if not is_sdk_error(exc):
            raise
        line = one_line(redact(describe(exc), secrets))
        if is_transient(exc):
            raise ModelError(
                f"{label}: gave up after {attempts} attempts: {line}", attempts=attempts
            ) from None
        hint = f"; check {key_env}" if key_env and _status(exc) in (401, 403) else ""
        # ``from None``: the SDK exception may quote the key in its text or request.
        raise ModelError(f"{label}: {line}{hint}", attempts=attempts) from None
