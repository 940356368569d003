"""Git over HTTPS with an installation token that is never written down.

The token reaches git only as an ``Authorization: Basic base64(x-access-token:TOKEN)`` header
given through the environment of one git process (``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_0``/
``GIT_CONFIG_VALUE_0``), scoped to the repository's own host (``http.<origin>/.extraHeader``,
so a redirect elsewhere never carries it). The remote URL stays token-free, nothing lands in
``.git/config``, no credential helper is asked or told, and git's output is redacted before it
is logged or put in an error. User and system git config are ignored (``GIT_CONFIG_GLOBAL``,
``GIT_CONFIG_NOSYSTEM``), so a credential helper or ``insteadOf`` there cannot interfere.
"""

from __future__ import annotations

import base64
import logging
import os
from pathlib import Path
from urllib.parse import urlsplit

from perfagent.tools.github.errors import GitTransferError
from perfagent.tools.runner import Limits, RunResult, run

logger = logging.getLogger(__name__)

GIT_LIMITS = Limits(timeout_s=900.0, memory_mb=None, fsize_mb=None)  # big repos, big packs
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
# Hooks of a repository must never run here; no credential helper may see the token.
_SAFE = ("-c", "core.hooksPath=/dev/null", "-c", "credential.helper=")


def basic_header(token: str) -> str:
    """The header GitHub expects for git over HTTPS with an installation token."""
    pair = base64.b64encode(f"x-access-token:{token}".encode()).decode("ascii")
    return f"Authorization: Basic {pair}"


def auth_env(repo_url: str, token: str | None) -> dict[str, str]:
    """Environment for one git process talking to ``repo_url``'s host with ``token``."""
    env = {
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    if token:
        env |= {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"http.{_origin(repo_url)}/.extraHeader",
            "GIT_CONFIG_VALUE_0": basic_header(token),
        }
    return env


def clone(repo_url: str, ref: str, dest: Path, token: str | None) -> str:
    """Clone ``repo_url`` into ``dest`` (absent or empty) and check out ``ref`` (a branch,
    tag, commit or ``refs/pull/N/head``) detached; returns the commit checked out."""
    _origin(repo_url)
    if ref.startswith("-") or not ref.strip():
        raise GitTransferError(f"git clone {repo_url}: invalid ref {ref!r}")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    env = auth_env(repo_url, token)
    _git(["clone", "--quiet", "--no-checkout", "--", repo_url, str(dest)], dest.parent, env, token)
    sha = _resolve(dest, ref)
    if sha is None:  # not a branch, tag or known commit: ask the server for exactly that ref
        _git(["fetch", "--quiet", "origin", "--", ref], dest, env, token)
        sha = _resolve(dest, "FETCH_HEAD")
        if sha is None:
            raise GitTransferError(f"git fetch {repo_url}: ref {ref!r} not found")
    _git(["checkout", "--quiet", "--detach", sha], dest, env, token)
    return sha


def push_branch(repo_dir: Path, branch: str, token: str, *, url: str, force: bool = False) -> str:
    """Push local branch ``branch`` of ``repo_dir`` to the same name at ``url`` (the clone URL
    the API gave, never a remote read from the tree: code that ran in a tree can rewrite its
    ``.git/config``; push from a fresh clone, whose config is git's own); returns the commit
    pushed. ``force`` replaces a branch that moved (a re-run of the same task)."""
    env = auth_env(url, token)
    sha = _resolve(repo_dir, f"refs/heads/{branch}")
    if sha is None:
        raise GitTransferError(f"git push {url}: no local branch {branch!r} in {repo_dir}")
    spec = f"refs/heads/{branch}:refs/heads/{branch}"
    _git(["push", "--quiet", *(["--force"] if force else []), url, spec], repo_dir, env, token)
    return sha


def remote_url(repo_dir: Path, remote: str = "origin") -> str:
    result = _run(["remote", "get-url", "--", remote], repo_dir, auth_env("", None))
    if not result.ok:
        raise GitTransferError(f"git remote {remote} in {repo_dir}: {result.summary()}")
    url = result.stdout.strip()
    _origin(url)
    return url


# -- helpers -----------------------------------------------------------------------------------
def _origin(url: str) -> str:
    """``scheme://host[:port]`` of a token-free HTTPS URL (plain HTTP only on loopback)."""
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise GitTransferError("repository URL must not carry credentials")
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in _LOOPBACK):
        raise GitTransferError(f"not an HTTPS repository URL: {parts.scheme}://{parts.netloc}")
    return f"{parts.scheme}://{parts.netloc}"


def _resolve(repo_dir: Path, ref: str) -> str | None:
    for candidate in (f"refs/remotes/origin/{ref}", f"refs/tags/{ref}", ref):
        argv = ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{candidate}^{{commit}}"]
        result = _run(argv, repo_dir, auth_env("", None))
        if result.ok and result.stdout.strip():
            return result.stdout.strip()
    return None


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> RunResult:
    return run(["git", *_SAFE, *args], cwd=cwd, env=env, limits=GIT_LIMITS, network=True)


def _git(args: list[str], cwd: Path, env: dict[str, str], token: str | None) -> None:
    result = _run(args, cwd, env)
    for name, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        if text.strip():
            logger.debug("git %s %s: %s", args[0], name, redact(text, token))
    if not result.ok:
        raise GitTransferError(f"git {args[0]}: {redact(result.summary(), token)}")


def redact(text: str, token: str | None) -> str:
    """``text`` without the token, in clear or inside its Basic header."""
    if not token:
        return text
    secret = basic_header(token).removeprefix("Authorization: Basic ")
    return text.replace(token, "***").replace(secret, "***")
