"""perfagent's GitHub client: the App's REST calls and git over HTTPS.

    app = GitHubApp(APP_ID, PRIVATE_KEY_PEM)            # base_url=, clock= for tests
    inst = app.repo_installation(RepoRef.parse("octo/widgets"))
    gh = app.installation(inst.id, repo)                # as that installation, on repo only
    if has_write(gh.permission(repo, "alice")): ...
    url = gh.repository(repo).clone_url
    sha = clone(url, "main", dest, gh.token())
    push_branch(fresh_clone, "perfagent/speedup-1", gh.token(), url=url)
    pr = gh.create_pull(repo, title=..., head="perfagent/speedup-1", base="main", body=...)

Modules: ``auth`` (JWT, cached installation tokens), ``client`` (``GitHubApp``,
``InstallationClient``), ``models`` (what calls return), ``git`` (``clone``,
``push_branch``: the token only ever in one git process's environment), ``errors``.
Tests run all of it against the loopback fake in ``tests/github/``.
"""

from perfagent.tools.extras import require

require("app", "the GitHub client (perfagent.tools.github)")

# ruff: noqa: E402 -- the extra is checked before its packages are imported
from perfagent.tools.github.auth import AppTokens, Clock, app_jwt
from perfagent.tools.github.client import (
    API_VERSION,
    DEFAULT_API_URL,
    TOKEN_PERMISSIONS,
    GitHubApp,
    InstallationClient,
)
from perfagent.tools.github.errors import GitHubError, GitTransferError
from perfagent.tools.github.git import clone, push_branch, remote_url
from perfagent.tools.github.models import (
    CheckConclusion,
    CheckOutput,
    CheckRun,
    CheckStatus,
    Comment,
    Installation,
    InstallationToken,
    Permission,
    PullRequest,
    ReactionContent,
    RepoRef,
    Repository,
    has_write,
)

__all__ = [
    "API_VERSION",
    "DEFAULT_API_URL",
    "TOKEN_PERMISSIONS",
    "AppTokens",
    "CheckConclusion",
    "CheckOutput",
    "CheckRun",
    "CheckStatus",
    "Clock",
    "Comment",
    "GitHubApp",
    "GitHubError",
    "GitTransferError",
    "Installation",
    "InstallationClient",
    "InstallationToken",
    "Permission",
    "PullRequest",
    "ReactionContent",
    "RepoRef",
    "Repository",
    "app_jwt",
    "clone",
    "has_write",
    "push_branch",
    "remote_url",
]
