"""GitHub App authentication: the App's JWT and cached installation access tokens.

githubkit's ``AppAuthStrategy``/``AppInstallationAuthStrategy`` read the wall clock directly
and keep the installation token inside their cache, where git cannot get at it; so the
tokens live here, under an injectable clock, and githubkit gets them through two small auth
strategies (``JWTAuthStrategy``, ``InstallationAuthStrategy``).

- The JWT (RS256) has ``iat`` 60 s in the past (clock drift) and ``exp`` 9 min ahead, so
  ``exp - iat`` is GitHub's 10-minute maximum; it is reused until a minute before it expires.
- An installation token (1 h on GitHub) is scoped to one repository (and the permissions the
  client asks for), cached per installation and repository, reused until
  ``refresh_margin_s`` before it expires, then minted again. A request answered 401 drops the
  cached token and is retried once with a fresh one (a token can be revoked early).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from githubkit.auth.base import BaseAuthStrategy

from perfagent.tools.github.errors import GitHubError
from perfagent.tools.github.models import InstallationToken

if TYPE_CHECKING:
    from githubkit import GitHubCore

Clock = Callable[[], float]  # epoch seconds; time.time in production, a fake in tests

JWT_BACKDATE_S = 60
JWT_LIFETIME_S = 600  # exp - iat: GitHub rejects JWTs that live longer than 10 minutes
_JWT_REUSE_MARGIN_S = 60


def load_private_key(pem: str | bytes) -> RSAPrivateKey:
    """The App's private key (the PEM file GitHub lets you download)."""
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise GitHubError(f"the GitHub App private key is not a readable PEM key: {exc}") from exc
    if not isinstance(key, RSAPrivateKey):
        raise GitHubError("the GitHub App private key is not an RSA key (GitHub issues RSA keys)")
    return key


def app_jwt(app_id: int | str, key: RSAPrivateKey, now: float) -> str:
    """A JWT that authenticates as the App (``iss`` is the App ID or its client ID)."""
    iat = int(now) - JWT_BACKDATE_S
    claims = {"iat": iat, "exp": iat + JWT_LIFETIME_S, "iss": str(app_id)}
    return jwt.encode(claims, key, algorithm="RS256")


class AppTokens:
    """The App's JWT and one installation token per installation and repository, cached;
    thread-safe.

    ``mint(installation_id, repo_name)`` asks GitHub for a new token for that one repository
    (the client passes one that calls ``POST /app/installations/{id}/access_tokens`` with the
    JWT, ``repositories`` and ``permissions``).
    """

    def __init__(
        self,
        app_id: int | str,
        private_key: str | bytes,
        mint: Callable[[int, str], InstallationToken],
        *,
        clock: Clock = time.time,
        refresh_margin_s: float = 300.0,
    ) -> None:
        self.app_id = app_id
        self._key = load_private_key(private_key)
        self._mint = mint
        self._clock = clock
        self._margin = refresh_margin_s
        self._lock = threading.Lock()
        self._jwt: tuple[str, float] | None = None  # (token, exp)
        self._tokens: dict[tuple[int, str], InstallationToken] = {}

    def jwt(self) -> str:
        now = self._clock()
        with self._lock:
            if self._jwt is None or now >= self._jwt[1] - _JWT_REUSE_MARGIN_S:
                token = app_jwt(self.app_id, self._key, now)
                self._jwt = (token, int(now) - JWT_BACKDATE_S + JWT_LIFETIME_S)
            return self._jwt[0]

    def installation_token(self, installation_id: int, repo_name: str) -> InstallationToken:
        """A token for repository ``repo_name`` of the installation, valid for at least
        ``refresh_margin_s`` more seconds."""
        scope = (installation_id, repo_name)
        with self._lock:
            cached = self._tokens.get(scope)
            if cached is not None and self._clock() < cached.expires_at - self._margin:
                return cached
        # Minting is a network call: not under the lock (the JWT it needs takes it), and two
        # threads racing here only mint two tokens, both valid.
        fresh = self._mint(installation_id, repo_name)
        with self._lock:
            self._tokens[scope] = fresh
        return fresh

    def invalidate(self, installation_id: int, repo_name: str) -> None:
        with self._lock:
            self._tokens.pop((installation_id, repo_name), None)


class _HeaderAuth(httpx.Auth):
    def __init__(self, header: Callable[[], str], on_401: Callable[[], None] | None) -> None:
        self._header = header
        self._on_401 = on_401

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header()
        response = yield request
        if response.status_code == 401 and self._on_401 is not None:
            self._on_401()
            request.headers["Authorization"] = self._header()
            yield request


@dataclass
class JWTAuthStrategy(BaseAuthStrategy):
    """githubkit auth for the App's own endpoints (``/app/...``, repo installation)."""

    tokens: AppTokens

    def get_auth_flow(self, github: GitHubCore[Any]) -> httpx.Auth:
        return _HeaderAuth(lambda: f"Bearer {self.tokens.jwt()}", None)


@dataclass
class InstallationAuthStrategy(BaseAuthStrategy):
    """githubkit auth as one installation on one repository: the cached token, refreshed."""

    tokens: AppTokens
    installation_id: int
    repo_name: str

    def get_auth_flow(self, github: GitHubCore[Any]) -> httpx.Auth:
        def header() -> str:
            token = self.tokens.installation_token(self.installation_id, self.repo_name)
            return f"token {token.token}"

        def drop() -> None:
            self.tokens.invalidate(self.installation_id, self.repo_name)

        return _HeaderAuth(header, drop)
