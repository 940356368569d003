"""The fake's git remote: bare repositories served over smart HTTP by ``git http-backend``.

Each fake repository is a bare repository ``<root>/<owner>/<name>.git``; the fake hands git
requests (``/<owner>/<name>.git/info/refs``, ``/git-upload-pack``, ``/git-receive-pack``) to
``git http-backend`` as CGI once it has checked the installation token, so clones and pushes
are real git transfers.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from perfagent.tools.runner import RunResult, run

GIT_PATH = r"^/(?P<owner>[^/]+)/(?P<name>[^/]+?)\.git(?P<rest>/.*)$"
_IDENTITY = {
    "GIT_AUTHOR_NAME": "Fake Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Fake Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z",
}
_ISOLATED = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}


def git(*args: str, cwd: Path) -> str:
    """Run git for the fake's own bookkeeping; its stdout, stripped."""
    result: RunResult = run(["git", *args], cwd=cwd, env={**_ISOLATED, **_IDENTITY}, network=True)
    if not result.ok:
        raise RuntimeError(f"git {' '.join(args)} failed: {result.summary()}")
    return result.stdout.strip()


class GitRepos:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, full_name: str) -> Path:
        return self.root / f"{full_name}.git"

    def create(self, full_name: str, default_branch: str, files: Mapping[str, str]) -> str:
        """A bare repository whose ``default_branch`` has one commit of ``files``."""
        bare = self.path(full_name)
        bare.parent.mkdir(parents=True, exist_ok=True)
        git(
            "init",
            "--quiet",
            "--bare",
            f"--initial-branch={default_branch}",
            str(bare),
            cwd=self.root,
        )
        git("config", "http.receivepack", "true", cwd=bare)
        git("config", "uploadpack.allowAnySHA1InWant", "true", cwd=bare)
        return self.commit(full_name, default_branch, files, "initial commit", parent=None)

    def commit(
        self,
        full_name: str,
        branch: str,
        files: Mapping[str, str],
        message: str,
        *,
        parent: str | None = "",
    ) -> str:
        """A commit on ``branch`` (created from ``parent``, default: the branch itself, else
        HEAD) adding ``files``; returns its sha."""
        bare = self.path(full_name)
        with tempfile.TemporaryDirectory(prefix="fake-git-") as tmp:
            work = Path(tmp)
            git("init", "--quiet", cwd=work)
            if parent is not None:
                start = parent or self.branch_sha(full_name, branch) or "HEAD"
                git("fetch", "--quiet", str(bare), start, cwd=work)
                git("checkout", "--quiet", "-B", branch, "FETCH_HEAD", cwd=work)
            else:
                git("checkout", "--quiet", "-b", branch, cwd=work)
            for name, text in files.items():
                (work / name).parent.mkdir(parents=True, exist_ok=True)
                (work / name).write_text(text, encoding="utf-8")
            git("add", "--all", cwd=work)
            git("commit", "--quiet", "--allow-empty", "-m", message, cwd=work)
            git("push", "--quiet", "--force", str(bare), f"HEAD:refs/heads/{branch}", cwd=work)
            return git("rev-parse", "HEAD", cwd=work)

    def branch_sha(self, full_name: str, branch: str) -> str | None:
        bare = self.path(full_name)
        result = run(
            ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}"],
            cwd=bare,
            env=_ISOLATED,
            network=True,
        )
        return result.stdout.strip() if result.ok else None

    def delete_branch(self, full_name: str, branch: str) -> None:
        git("update-ref", "-d", f"refs/heads/{branch}", cwd=self.path(full_name))

    def has_commit(self, full_name: str, sha: str) -> bool:
        argv = ["git", "cat-file", "-e", f"{sha}^{{commit}}"]
        return run(argv, cwd=self.path(full_name), env=_ISOLATED, network=True).ok

    def serve(
        self,
        method: str,
        path_info: str,
        query: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """One smart-HTTP request through ``git http-backend``: (status, headers, body).

        Not through tools.runner.run: the pack data on stdin and stdout is binary."""
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            **_ISOLATED,
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path_info,
            "REQUEST_METHOD": method,
            "QUERY_STRING": query,
            "CONTENT_TYPE": headers.get("content-type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": "x-access-token",  # enables receive-pack: the fake checked the token
            "REMOTE_ADDR": "127.0.0.1",
        }
        if "git-protocol" in headers:
            env["GIT_PROTOCOL"] = headers["git-protocol"]
        if "content-encoding" in headers:
            env["HTTP_CONTENT_ENCODING"] = headers["content-encoding"]
        proc = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, timeout=120
        )
        head, _, payload = proc.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = proc.stdout.partition(b"\n\n")
        status, out_headers = 200, []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                out_headers.append((name, value.strip()))
        if proc.returncode != 0 and not proc.stdout:
            return 500, [], proc.stderr
        return status, out_headers, payload
