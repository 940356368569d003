"""A loopback fake of GitHub for tests: the REST API and git over HTTP, on 127.0.0.1.

Every API request is first judged against GitHub's OpenAPI description (``spec.py``) for the
API version it names: an unknown endpoint answers 404, a bad path or query parameter or body
(missing required field, wrong type, unknown field where ``additionalProperties`` is false)
answers 422 (400 for unreadable JSON), and each is recorded in ``violations``; so is an
unknown query parameter (GitHub ignores those, a client should not send them), an operation
the fake does not implement, and any answer of the fake that breaks the documented schema.
``validated`` counts the requests judged. Tests assert ``violations == []`` at teardown.

Authentication is checked as GitHub does it: ``/app/...`` and the installation look-ups want
the App's JWT (RS256, verified with the App's public key, at most 10 minutes long, not
expired by the fake's clock); everything else wants an unexpired installation token that
covers the repository and holds the permission the operation needs (``operations.NEEDS``:
403 "Resource not accessible by integration" otherwise). Git requests want the token as HTTP
Basic password, with contents read to fetch and write to push. ``minted`` lists every
installation token issued, with its repositories and permissions.

State (repositories, installations, roles, tokens, pull requests, check runs, comments,
reactions) lives on the instance; the operations are in ``operations.py``.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt

from tests.github.gitserver import GIT_PATH, GitRepos
from tests.github.operations import APP_PERMISSIONS, Operations, allows
from tests.github.spec import BASE_VERSION, SpecSet
from tests.github.state import FakeInstallation, FakeRepo, FakeToken, Reject

JWT_MAX_S = 600
TOKEN_LIFETIME_S = 3600
_JWT_OPERATIONS = (
    "apps/get-repo-installation",
    "apps/get-org-installation",
    "apps/get-user-installation",
)


@dataclass
class Reply:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)


class FakeGitHub(Operations):
    """Start with ``with FakeGitHub(...) as fake:``; ``fake.api_url`` is the base URL."""

    def __init__(
        self,
        root: Path,
        specs: SpecSet,
        *,
        app_id: int,
        public_key_pem: bytes,
        clock: Callable[[], float] = time.time,
        app_slug: str = "perfagent",
    ) -> None:
        super().__init__()
        self.specs = specs
        self.specs_version = BASE_VERSION
        self.app_id = app_id
        self.app_slug = app_slug
        self.clock = clock
        self._public_key = public_key_pem
        self.git = GitRepos(root)
        root.mkdir(parents=True, exist_ok=True)
        self.repos: dict[str, FakeRepo] = {}
        self.installations: dict[int, FakeInstallation] = {}
        self.tokens: dict[str, FakeToken] = {}
        self.minted: list[FakeToken] = []
        self.tokens_issued = 0
        self.violations: list[str] = []
        self.validated = 0
        self.log: list[tuple[str, str, int]] = []  # (method, path, status) of every request
        self.ids = itertools.count(1001)
        self.lock = threading.RLock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifetime ------------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeGitHub:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def take_violations(self) -> list[str]:
        with self.lock:
            found, self.violations = self.violations, []
        return found

    # -- set-up for tests ----------------------------------------------------------------
    def add_repo(
        self,
        full_name: str,
        *,
        default_branch: str = "main",
        files: Mapping[str, str] | None = None,
        private: bool = True,
    ) -> FakeRepo:
        self.git.create(full_name, default_branch, files or {"README.md": f"# {full_name}\n"})
        repo = FakeRepo(next(self.ids), full_name, default_branch, private)
        self.repos[full_name] = repo
        return repo

    def install(self, account: str, repos: list[str]) -> int:
        """Install the App on ``account`` for ``repos``; returns the installation id."""
        inst = FakeInstallation(next(self.ids), account, set(repos))
        self.installations[inst.id] = inst
        return inst.id

    def set_role(self, full_name: str, login: str, role: str) -> None:
        self.repos[full_name].roles[login] = role

    def clone_url(self, full_name: str) -> str:
        return f"{self.api_url}/{full_name}.git"

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    # -- requests ------------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        url = urlsplit(target)
        git = re.match(GIT_PATH, url.path)
        reply = (
            self._git_request(method, git, url.query, headers, body)
            if git
            else self._api_request(method, url.path, url.query, headers, body)
        )
        with self.lock:
            self.log.append((method, url.path, reply.status))
        return reply

    def _violation(self, text: str) -> None:
        with self.lock:
            self.violations.append(text)

    def _api_request(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> Reply:
        where = f"{method} {path}"
        version = headers.get("x-github-api-version", BASE_VERSION)
        if version not in self.specs.versions:
            self._violation(f"{where}: unknown X-GitHub-Api-Version {version!r}")
            return _json_reply(400, {"message": f"Unsupported 'X-GitHub-Api-Version': {version}"})
        spec = self.specs.get(version)
        match = spec.match(method, path)
        if match is None:
            self._violation(f"{where}: no such endpoint in the OpenAPI description")
            return _json_reply(404, {"message": "Not Found"})
        op = match.operation
        where = f"{where} ({op.operation_id})"
        params = parse_qs(query, keep_blank_values=True)
        problems = spec.check_request(match, params, body, headers.get("content-type", ""))
        with self.lock:
            self.validated += 1
            self.violations += [f"{where}: {text}" for text in problems.errors + problems.notes]
        if problems.errors:
            errors = [{"code": "invalid", "message": text} for text in problems.errors]
            message = "Problems parsing JSON" if problems.status == 400 else "Invalid request."
            return _json_reply(problems.status, {"message": message, "errors": errors})
        handler = self.handlers.get(op.operation_id)
        if handler is None:
            self._violation(f"{where}: valid, but the fake does not implement it")
            return _json_reply(501, {"message": "not implemented by the fake"})
        payload = json.loads(body) if body.strip() else {}
        extra: list[tuple[str, str]] = []
        try:
            with self.lock:
                self.specs_version = version
                self._authenticate(op.operation_id, op.template, match.path_params, headers)
                status, overlay = handler(match.path_params, params, payload, extra)
        except Reject as exc:
            status, overlay = exc.status, exc.payload()
        answer, broken = spec.response(op, status, overlay)
        for text in broken:
            self._violation(f"{where}: the fake's {status} answer breaks the schema: {text}")
        return Reply(status, b"" if answer is None else json.dumps(answer).encode(), extra)

    # -- authentication ------------------------------------------------------------------
    def _authenticate(
        self,
        operation_id: str,
        template: str,
        params: Mapping[str, str],
        headers: Mapping[str, str],
    ) -> None:
        scheme, _, credential = headers.get("authorization", "").partition(" ")
        if template.startswith("/app/") or template == "/app" or operation_id in _JWT_OPERATIONS:
            if scheme.lower() != "bearer":
                raise Reject(401, "A JSON web token could not be decoded")
            self._check_jwt(credential)
            return
        if scheme.lower() not in ("token", "bearer"):
            raise Reject(401, "Requires authentication")
        token = self.tokens.get(credential)
        if token is None or self.clock() >= token.expires_at:
            raise Reject(401, "Bad credentials")
        if "owner" in params and "repo" in params:
            full_name = f"{params['owner']}/{params['repo']}"
            if full_name not in self.repos:
                raise Reject(404, "Not Found")
            if full_name not in token.repos:
                raise Reject(403, "Resource not accessible by integration")
        if not allows(token.permissions, operation_id):
            raise Reject(403, "Resource not accessible by integration")

    def _check_jwt(self, token: str) -> None:
        try:
            claims = jwt.decode(
                token,
                self._public_key,
                algorithms=["RS256"],
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "require": ["iat", "exp", "iss"],
                },
            )
        except jwt.PyJWTError as exc:
            raise Reject(401, f"A JSON web token could not be decoded ({exc})") from exc
        now = self.clock()
        if str(claims["iss"]) != str(self.app_id):
            raise Reject(401, "'Issuer' claim ('iss') must be an Integer")
        if claims["exp"] <= now:
            raise Reject(
                401, "'Expiration time' claim ('exp') must be a numeric value in the future"
            )
        if claims["exp"] > now + JWT_MAX_S or claims["exp"] - claims["iat"] > JWT_MAX_S:
            raise Reject(401, "'Expiration time' claim ('exp') is too far in the future")
        if claims["iat"] > now + 60:
            raise Reject(
                401, "'Issued at' claim ('iat') must be an Integer representing a time in the past"
            )

    def issue_token(
        self,
        installation_id: int,
        repos: frozenset[str],
        permissions: Mapping[str, str] = APP_PERMISSIONS,
    ) -> tuple[str, float]:
        token = "ghs_" + secrets.token_urlsafe(27)
        expires_at = float(int(self.clock()) + TOKEN_LIFETIME_S)
        grant = FakeToken(installation_id, expires_at, repos, dict(permissions))
        self.tokens[token] = grant
        self.minted.append(grant)
        self.tokens_issued += 1
        return token, expires_at

    # -- git -----------------------------------------------------------------------------
    def _git_request(
        self, method: str, found: re.Match[str], query: str, headers: Mapping[str, str], body: bytes
    ) -> Reply:
        full_name = f"{found['owner']}/{found['name']}"
        scheme, _, encoded = headers.get("authorization", "").partition(" ")
        password = ""
        if scheme.lower() == "basic":
            password = base64.b64decode(encoded).decode().partition(":")[2]
        push = "git-receive-pack" in found["rest"] or "service=git-receive-pack" in query
        with self.lock:
            token = self.tokens.get(password)
            allowed = (
                token is not None and self.clock() < token.expires_at and full_name in token.repos
            )
            if allowed and token is not None:
                operation = "git-receive-pack" if push else "git-upload-pack"
                if not allows(token.permissions, operation):
                    return Reply(403, b"Permission to push denied.\n")
        if not allowed:
            return Reply(
                401, b"Invalid username or token.\n", [("WWW-Authenticate", 'Basic realm="GitHub"')]
            )
        if full_name not in self.repos:
            return Reply(404, b"Repository not found.\n")
        status, out_headers, payload = self.git.serve(
            method, f"/{full_name}.git{found['rest']}", query, headers, body
        )
        return Reply(status, payload, out_headers)


def _json_reply(status: int, payload: Any) -> Reply:
    return Reply(status, json.dumps(payload).encode())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeGitHub"

    def _serve(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = self._body(headers)
        fake: FakeGitHub = self.server.fake  # type: ignore[attr-defined]
        reply = fake.handle(self.command, self.path, headers, body)
        self.send_response(reply.status)
        names = {name.lower() for name, _ in reply.headers}
        if "content-type" not in names:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def _body(self, headers: Mapping[str, str]) -> bytes:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():  # trailers
                pass
            return b"".join(chunks)
        return self.rfile.read(int(headers.get("content-length", "0") or 0))

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the fake keeps its own log
