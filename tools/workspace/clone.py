"""Private git workspaces: a clone of the task's repo and one tree per variant.

The user's checkout is only ever read. A git URL is cloned from the machine's mirror cache
(``mirror.py``) with ``--shared``, so the network is used once per repository, not once per
workspace. Everything lives under one temporary work dir that ``close()`` removes, so an
interrupted run leaves nothing behind.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from types import TracebackType

import git

from perfagent.tools.errors import WorkspaceError
from perfagent.tools.workspace.mirror import MirrorCache, first_line

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
    ".perfagent",  # perfagent's own run dirs (agent/cli/rundirs.py)
)
# Hooks from a repo under test must never run on our machine.
_SAFE_GIT = ("-c", "core.hooksPath=/dev/null", "-c", "advice.detachedHead=false")


class Workspace:
    """A clone at a base commit, with detached worktrees for base, expert and candidates."""

    def __init__(
        self,
        source: str | Path,
        ref: str = "HEAD",
        *,
        parent: Path | None = None,
        mirrors: MirrorCache | None = None,
    ) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="perfagent-", dir=parent))
        self.trees: dict[str, Path] = {}
        try:
            if isinstance(source, str) and not Path(source).exists():  # a git URL
                mirror = (mirrors or MirrorCache()).mirror_for(source, ref)
                self.repo = self._clone(mirror, ref, shared=True, label=source)
            else:
                self.repo = self._materialise(Path(source), ref)
            self.base_sha: str = self.repo.head.commit.hexsha
        except BaseException:
            self.close()
            raise

    # -- construction -------------------------------------------------------------------
    def _materialise(self, source: Path, ref: str) -> git.Repo:
        dest = self.root / "repo"
        if not _is_git_root(source):
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
        return self._clone(source, ref, shared=False, label=str(source))

    def _clone(self, source: Path, ref: str, *, shared: bool, label: str) -> git.Repo:
        """A clone checked out at ``ref``: ``--shared`` borrows the objects of a mirror this
        machine keeps; a user's local repository is cloned the usual way (hard links)."""
        options = ["--no-checkout", "--quiet", *(["--shared"] if shared else [])]
        try:
            repo = git.Repo.clone_from(
                str(source),
                self.root / "repo",
                multi_options=options,
                kill_after_timeout=GIT_TIMEOUT_S,
            )
        except git.GitCommandError as exc:
            raise WorkspaceError(f"cannot clone {label}: {first_line(exc)}") from exc
        try:
            repo.git.checkout("--detach", "--quiet", ref, kill_after_timeout=GIT_TIMEOUT_S)
        except git.GitCommandError as exc:
            raise WorkspaceError(f"{label}: ref {ref!r} not found ({first_line(exc)})") from exc
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

    def remove_tree(self, path: Path) -> None:
        """Drop a worktree made by ``add_tree`` (its files and git's record of it)."""
        name = next((n for n, p in self.trees.items() if p == path), None)
        if name is None:
            raise WorkspaceError(f"{path}: not a tree of this workspace")
        del self.trees[name]
        self.repo.git.execute(
            ["git", *_SAFE_GIT, "worktree", "remove", "--force", str(path)],
            kill_after_timeout=GIT_TIMEOUT_S,
        )

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
            raise WorkspaceError(f"{label} does not apply: {first_line(exc)}") from exc
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
            raise WorkspaceError(f"patch does not apply to {repo_path}: {first_line(exc)}") from exc
    return f"applied to {repo_path} (uncommitted; review with git diff)"
