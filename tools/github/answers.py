"""Calling GitHub through githubkit and reading its answers: every failure (an error status,
a timeout, a transport error, an answer that is not JSON or not the expected shape) becomes a
one-line ``GitHubError`` naming the endpoint and status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from githubkit import Response
from githubkit.exception import RequestError, RequestFailed, RequestTimeout
from pydantic import BaseModel, ValidationError

from perfagent.tools.github.errors import GitHubError

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R", bound=Response[Any, Any])


def call(label: str, request: Callable[[], R]) -> R:
    try:
        return request()
    except RequestFailed as exc:
        status = exc.response.status_code
        raise GitHubError(
            f"GitHub {label}: {status} {message(exc.response)}", endpoint=label, status=status
        ) from exc
    except RequestTimeout as exc:
        raise GitHubError(f"GitHub {label}: timed out", endpoint=label) from exc
    except RequestError as exc:
        raise GitHubError(f"GitHub {label}: {exc.exc}", endpoint=label) from exc


def message(resp: Response[Any, Any]) -> str:
    """GitHub's error ``message`` plus the first validation error, if any."""
    try:
        data = resp.raw_response.json()
    except ValueError:
        return resp.raw_response.reason_phrase or "error"
    if not isinstance(data, dict):
        return "error"
    text = str(data.get("message") or resp.raw_response.reason_phrase or "error")
    errors = data.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0]
        detail = first.get("message") or first.get("code") if isinstance(first, dict) else first
        if detail:
            text += f" ({detail})"
    return text


def read_json(label: str, resp: Response[Any, Any]) -> Any:
    try:
        return resp.raw_response.json()
    except ValueError as exc:
        raise GitHubError(f"GitHub {label}: answer is not JSON", endpoint=label) from exc


def validate(label: str, data: Any, model: type[M]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise GitHubError(
            f"GitHub {label}: unexpected answer ({where}: {first['msg']})", endpoint=label
        ) from exc


def parse(label: str, resp: Response[Any, Any], model: type[M]) -> M:
    return validate(label, read_json(label, resp), model)
