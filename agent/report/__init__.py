"""A run's report, rendered from its trajectory alone: ``report.md`` and ``report.html``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from perfagent.agent.report.html import CSP, render_html
from perfagent.agent.report.markdown import render_markdown
from perfagent.tools.errors import PerfagentError

FORMAT = "perfagent-trajectory"
VERSION = 1
# Every top-level key of a version-1 trajectory (trajectories/README.md): always present.
KEYS: dict[str, type] = {
    "format": str,
    "version": int,
    "run_id": str,
    "task_id": str,
    "task_file": str,
    "status": str,
    "created": str,
    "updated": str,
    "config": dict,
    "versions": dict,
    "machine": dict,
    "baseline": dict,
    "profiles": list,
    "rounds": list,
    "calls": list,
    "candidates": list,
    "measurements": list,
    "usage": dict,
    "final": dict,
    "stop_reason": str,
    "error": str,
}

_KINDS = {str: "a string", int: "an integer", dict: "an object", list: "a list"}

__all__ = [
    "CSP",
    "TrajectoryError",
    "load_trajectory",
    "render_html",
    "render_markdown",
    "write_reports",
]


class TrajectoryError(PerfagentError):
    """A trajectory file is missing, not JSON, or not a version-1 perfagent trajectory."""


def load_trajectory(path: Path) -> dict[str, Any]:
    """The trajectory document, checked at the top level (keys, their types, the version)."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TrajectoryError(f"trajectory {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TrajectoryError(f"trajectory {path}: cannot read it ({exc})") from exc
    try:
        traj = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise TrajectoryError(
            f"trajectory {path}: not JSON ({exc.msg} at line {exc.lineno})"
        ) from None
    if not isinstance(traj, dict):
        raise TrajectoryError(
            f"trajectory {path}: a JSON object expected, got {type(traj).__name__}"
        )
    if traj.get("format") != FORMAT:
        raise TrajectoryError(
            f"trajectory {path}: 'format' is {traj.get('format')!r}, expected {FORMAT!r}"
        )
    if traj.get("version") != VERSION:
        raise TrajectoryError(
            f"trajectory {path}: 'version' {traj.get('version')!r} is not supported "
            f"(this perfagent reads version {VERSION})"
        )
    missing = [key for key in KEYS if key not in traj]
    if missing:
        raise TrajectoryError(f"trajectory {path}: missing keys {', '.join(missing)}")
    for key, kind in KEYS.items():
        value = traj[key]
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            raise TrajectoryError(
                f"trajectory {path}: {key!r} should be {_KINDS[kind]} or null, "
                f"got {type(value).__name__}"
            )
    return traj


def write_reports(traj_path: Path, out_dir: Path | None = None) -> tuple[Path, Path]:
    """Render ``report.md`` and ``report.html`` (next to the trajectory unless ``out_dir``)."""
    traj = load_trajectory(traj_path)
    target = traj_path.parent if out_dir is None else out_dir
    target.mkdir(parents=True, exist_ok=True)
    md_path, html_path = target / "report.md", target / "report.html"
    md_path.write_text(render_markdown(traj, path=str(traj_path)), encoding="utf-8")
    html_path.write_text(render_html(traj, path=str(traj_path)), encoding="utf-8")
    return md_path, html_path
