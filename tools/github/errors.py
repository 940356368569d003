"""Errors of the GitHub client: one line each, naming the endpoint (or git command) and status."""

from __future__ import annotations

from perfagent.tools.errors import PerfagentError


class GitHubError(PerfagentError):
    """A GitHub API call failed, or its answer was not what the API describes.

    ``endpoint`` is ``"METHOD /path"`` (never a URL with credentials); ``status`` is the HTTP
    status when there was an answer (``None`` for timeouts and connection errors).
    """

    def __init__(self, message: str, *, endpoint: str | None = None, status: int | None = None):
        super().__init__(message)
        self.endpoint = endpoint
        self.status = status


class GitTransferError(GitHubError):
    """``git clone``/``fetch``/``push`` over HTTPS failed (message redacted of the token)."""
