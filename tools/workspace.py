"""Private git workspaces: a clone of the task's repo and one tree per variant.

The user's checkout is only ever read. Everything lives under one temporary work dir
that ``close()`` removes, so an interrupted run leaves nothing behind.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

import git

from perfagent.tools.errors import WorkspaceError

GIT_TIMEOUT_S = 300
_AUTHOR = "perfagent <perfagent@localhost>"
_COPY_IGNORE = shutil.ignore_patterns(
    ".git",
    "__pycache__",
    "*.pyc",
    ".venv",
    "venv",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "*.egg-info",
    "build",
    "dist",
    "node_modules",
)
# Hooks from a repo under test must never run on our machine.
_SAFE_GIT = ("-c", "core.hooksPath=/dev/null", "-c", "advice.detachedHead=false")


def _first_line(exc: git.GitCommandError) -> str:
    """git's own error line, never empty. gitpython frames the output as
    ``stderr: 'fatal: ...'``: the frame is dropped before looking for ``fatal:``/``error:``."""
    text = exc.stderr or exc.stdout or ""
    lines = [_GIT_FRAME.sub("", ln.strip()).strip("'\" ") for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    for line in lines:
        if line.startswith(("error:", "fatal:")):
            return line
    if lines:
        return lines[-1]
    return f"git exited with status {exc.status} and no message"


_GIT_FRAME = re.compile(r"^(stderr|stdout): ")


class Workspace:
    """A clone at a base commit, with detached worktrees for base, expert and candidates."""

    def __init__(
        self, source: str | Path, ref: str = "HEAD", *, parent: Path | None = None
    ) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="perfagent-", dir=parent))
        self.trees: dict[str, Path] = {}
        try:
            self.repo = self._materialise(source, ref)
            self.base_sha: str = self.repo.head.commit.hexsha
        except BaseException:
            self.close()
            raise

    # -- construction -------------------------------------------------------------------
    def _materialise(self, source: str | Path, ref: str) -> git.Repo:
        dest = self.root / "repo"
        if isinstance(source, Path) and not _is_git_root(source):
            if ref != "HEAD":
                raise WorkspaceError(f"{source}: not a git repository, so ref {ref!r} cannot apply")
            shutil.copytree(source, dest, ignore=_COPY_IGNORE, symlinks=True)
            repo = git.Repo.init(dest)
            repo.git.add("-A")
            repo.git.commit(
                "-q",
                "-m",
                "base (copied by perfagent)",
                "--allow-empty",
                f"--author={_AUTHOR}",
                env=_commit_env(),
                kill_after_timeout=GIT_TIMEOUT_S,
            )
            return repo
        try:
            repo = git.Repo.clone_from(
                str(source),
                dest,
                multi_options=["--no-checkout", "--quiet"],
                kill_after_timeout=GIT_TIMEOUT_S,
            )
        except git.GitCommandError as exc:
            raise WorkspaceError(f"cannot clone {source}: {_first_line(exc)}") from exc
        try:
            repo.git.checkout("--detach", "--quiet", ref, kill_after_timeout=GIT_TIMEOUT_S)
        except git.GitCommandError as exc:
            raise WorkspaceError(f"{source}: ref {ref!r} not found ({_first_line(exc)})") from exc
        return repo

    # -- trees ----------------------------------------------------------------------------
    @property
    def base_tree(self) -> Path:
        return self.repo_dir

    @property
    def repo_dir(self) -> Path:
        return Path(self.repo.working_tree_dir or self.root / "repo")

    def add_tree(self, name: str, *, commit: str | None = None) -> Path:
        """A fresh detached worktree named ``name`` at ``commit`` (default: the base)."""
        if name in self.trees:
            raise WorkspaceError(f"tree {name!r} already exists")
        path = self.root / "trees" / name
        target = commit or self.base_sha
        try:
            sha = self.repo.commit(target).hexsha
        except (ValueError, git.BadName, git.GitCommandError) as exc:
            raise WorkspaceError(f"commit {target!r} not found in the repository") from exc
        self.repo.git.execute(
            ["git", *_SAFE_GIT, "worktree", "add", "--detach", "--quiet", str(path), sha],
            kill_after_timeout=GIT_TIMEOUT_S,
        )
        self.trees[name] = path
        return path

    def apply_patch(self, tree: Path, patch: str, *, label: str = "patch") -> None:
        """Apply a unified diff to ``tree``: checked first, so a bad patch changes nothing."""
        if not patch.strip():
            raise WorkspaceError(f"{label} is empty")
        patch_file = self.root / f".{tree.name}.patch"
        patch_file.write_text(patch if patch.endswith("\n") else patch + "\n", encoding="utf-8")
        repo = git.Repo(tree)
        try:
            repo.git.apply(
                "--check", "--whitespace=nowarn", str(patch_file), kill_after_timeout=GIT_TIMEOUT_S
            )
            repo.git.apply("--whitespace=nowarn", str(patch_file), kill_after_timeout=GIT_TIMEOUT_S)
        except git.GitCommandError as exc:
            raise WorkspaceError(f"{label} does not apply: {_first_line(exc)}") from exc
        finally:
            patch_file.unlink(missing_ok=True)

    def diff(self, tree: Path) -> str:
        """The tree's changes against the base, untracked files included."""
        repo = git.Repo(tree)
        repo.git.add("-A", kill_after_timeout=GIT_TIMEOUT_S)
        text: str = repo.git.diff(
            "--cached",
            "--no-color",
            "--no-ext-diff",
            self.base_sha,
            kill_after_timeout=GIT_TIMEOUT_S,
        )
        repo.git.reset("-q", kill_after_timeout=GIT_TIMEOUT_S)
        return text + "\n" if text and not text.endswith("\n") else text

    def commit_diff(self, commit: str) -> str:
        text: str = self.repo.git.diff("--no-color", self.base_sha, commit)
        return text + "\n" if text and not text.endswith("\n") else text

    # -- lifetime ---------------------------------------------------------------------------
    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _is_git_root(path: Path) -> bool:
    try:
        git.Repo(path, search_parent_directories=False)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return False
    return True


def _commit_env() -> dict[str, str]:
    name, email = _AUTHOR.split(" <")
    email = email.rstrip(">")
    return {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }


def apply_to_checkout(repo_path: Path, patch: str) -> str:
    """Apply ``patch`` to the user's own working tree, on their explicit request only, and
    only when that tree is clean (nothing of theirs can be mixed up or lost)."""
    try:
        repo = git.Repo(repo_path)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise WorkspaceError(f"{repo_path}: not a git repository") from exc
    if repo.is_dirty(untracked_files=True):
        raise WorkspaceError(
            f"{repo_path}: working tree has uncommitted changes; not applying (patch kept)"
        )
    with tempfile.NamedTemporaryFile("w", suffix=".diff", encoding="utf-8") as handle:
        handle.write(patch if patch.endswith("\n") else patch + "\n")
        handle.flush()
        try:
            repo.git.apply("--check", handle.name, kill_after_timeout=GIT_TIMEOUT_S)
            repo.git.apply(handle.name, kill_after_timeout=GIT_TIMEOUT_S)
        except git.GitCommandError as exc:
            raise WorkspaceError(
                f"patch does not apply to {repo_path}: {_first_line(exc)}"
            ) from exc
    return f"applied to {repo_path} (uncommitted; review with git diff)"
