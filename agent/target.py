"""Turn ``perfagent optimize TARGET`` into a task file: a task file as given, or a task
written for a local repository or git URL from flags and the repo's ``[tool.perfagent]``.

The written task lives in the run dir (so ``--resume`` and ``replay`` find it); the user's
repository is only read.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import git
import yaml

from perfagent.tools.errors import TaskSpecError, WorkspaceError
from perfagent.tools.taskspec import load_task
from perfagent.tools.workspace import MirrorCache

_URL = re.compile(r"^(https?://|git://|ssh://|file://|git@[^:]+:)")
GIT_TIMEOUT_S = 600


@dataclass
class TargetOptions:
    workload: str | None = None  # a workload file (setup()/workload()), relative to the repo
    tests: list[str] = field(default_factory=list)  # test commands
    expert: str | None = None  # a commit of the repo or a patch file
    ref: str | None = None
    hidden: list[str] = field(default_factory=list)  # more workload files, for the guard


def is_task_file(target: str) -> bool:
    return target.endswith((".yaml", ".yml")) and Path(target).is_file()


def resolve_target(target: str, options: TargetOptions, out_dir: Path) -> Path:
    """The task file to run: ``target`` itself, or one written to ``out_dir``."""
    if is_task_file(target):
        load_task(target)  # validate now: a bad file stops before anything is created
        return Path(target).resolve()
    if _URL.match(target):
        config = _remote_config(target, options.ref)
        repo: str = target
        repo_id = Path(target.rstrip("/")).stem
    else:
        path = Path(target).expanduser().resolve()
        if not path.is_dir():
            raise TaskSpecError(f"{target}: not a task file, a repository folder or a git URL")
        try:
            git.Repo(path)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
            raise WorkspaceError(f"{path}: not a git repository") from exc
        config = _read_config(path / "pyproject.toml")
        repo, repo_id = str(path), path.name
        config = _anchor_workload_files(config, path, options.ref or config.get("ref", "HEAD"))
    spec = _spec(repo, repo_id, config, options)
    out_dir.mkdir(parents=True, exist_ok=True)
    task_file = out_dir / "task.yaml"
    task_file.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    load_task(task_file)
    return task_file


def _read_config(pyproject: Path) -> dict[str, Any]:
    if not pyproject.is_file():
        return {}
    return _config_of(pyproject.read_text(encoding="utf-8"), str(pyproject))


def _config_of(text: str, pyproject: str) -> dict[str, Any]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TaskSpecError(f"{pyproject}: not valid TOML ({exc})") from exc
    config = data.get("tool", {}).get("perfagent", {})
    if not isinstance(config, dict):
        raise TaskSpecError(f"{pyproject}: [tool.perfagent] must be a table")
    return config


def _anchor_workload_files(config: dict[str, Any], repo: Path, ref: str) -> dict[str, Any]:
    """Workload files named in ``[tool.perfagent]`` that exist in the working copy but not at
    ``ref`` (such as the one ``perfagent init`` just wrote), as absolute paths: the clone
    would not have them. Every variant then runs that same file."""
    try:
        tree = git.Repo(repo).commit(ref).tree
    except (ValueError, git.BadName) as exc:
        raise WorkspaceError(f"{repo}: ref {ref!r} not found") from exc
    anchored = dict(config)
    for key in ("workload", "hidden_workloads"):
        if key in config:
            value = config[key]
            values = value if isinstance(value, list) else [value]
            fixed = [_anchor(v, repo, tree) for v in values]
            anchored[key] = fixed if isinstance(value, list) else fixed[0]
    return anchored


def _anchor(value: Any, repo: Path, tree: Any) -> Any:
    file = value.get("file") if isinstance(value, dict) else value
    if not isinstance(file, str) or Path(file).is_absolute() or not (repo / file).is_file():
        return value
    try:
        tree / Path(file).as_posix()
        return value  # committed: the clone has it
    except KeyError:
        absolute = str(repo / file)
    return {**value, "file": absolute} if isinstance(value, dict) else absolute


def _remote_config(url: str, ref: str | None) -> dict[str, Any]:
    """``[tool.perfagent]`` of a git URL, read from the machine's mirror (no checkout)."""
    repo = git.Repo(MirrorCache().mirror_for(url, ref or "HEAD"))
    try:
        commit = repo.git.rev_parse("--verify", f"{ref or 'HEAD'}^{{commit}}")
    except git.GitCommandError as exc:
        raise WorkspaceError(f"{url}: ref {ref or 'HEAD'!r} not found") from exc
    try:
        text = repo.git.show(f"{commit}:pyproject.toml", kill_after_timeout=GIT_TIMEOUT_S)
    except git.GitCommandError:
        return {}  # no pyproject.toml at that commit
    return _config_of(text, f"{url}@{commit[:12]}:pyproject.toml")


_KEYS = {
    "workload", "hidden_workloads", "tests", "setup", "setup_network", "build", "targets",
    "protected", "expert", "ref",
}  # fmt: skip


def _spec(
    repo: str, repo_id: str, config: dict[str, Any], options: TargetOptions
) -> dict[str, Any]:
    unknown = sorted(set(config) - _KEYS)
    if unknown:
        raise TaskSpecError(
            f"[tool.perfagent]: unknown key {unknown[0]!r} (known: {sorted(_KEYS)})"
        )
    workload = options.workload or config.get("workload")
    if not workload:
        raise TaskSpecError(
            f"{repo}: no workload: pass --workload FILE or set workload in [tool.perfagent]"
        )
    spec: dict[str, Any] = {
        "id": re.sub(r"[^A-Za-z0-9._-]+", "-", repo_id).strip("-") or "repo",
        "repo": repo,
        "ref": options.ref or config.get("ref", "HEAD"),
        "workload": _workload(workload),
        "tests": options.tests or _list(config.get("tests", [])),
        "setup": _list(config.get("setup", [])),
        "setup_network": bool(config.get("setup_network", False)),
        "build": _list(config.get("build", [])),
        "targets": _list(config.get("targets", [])),
        "protected": _list(config.get("protected", [])),
    }
    hidden = options.hidden or config.get("hidden_workloads", [])
    if hidden:
        spec["hidden_workloads"] = [_workload(h) for h in _list(hidden)]
    expert = options.expert or config.get("expert")
    if expert:
        is_patch = str(expert).endswith((".diff", ".patch"))
        if is_patch:
            expert = str(Path(expert).expanduser().resolve())
        spec["expert"] = {"patch": expert} if is_patch else {"commit": expert}
    return spec


def _workload(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    return {"kind": "python", "file": str(value)}


def _list(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list(value)
