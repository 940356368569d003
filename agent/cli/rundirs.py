"""Where run dirs go by default: ``.perfagent/runs`` under the current directory.

``.perfagent/`` carries its own ``.gitignore`` (``*``), like ``.pytest_cache`` or
``.mypy_cache``: a run started at a repository's root leaves its working tree clean, so
``perfagent optimize . --apply`` can apply there. ``$PERFAGENT_RUNS_DIR`` or ``--runs-dir``
put them elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

STATE_DIR = ".perfagent"


def default_runs_dir() -> Path:
    chosen = os.environ.get("PERFAGENT_RUNS_DIR")
    if chosen:
        return Path(chosen)
    return ignored_state_dir(Path.cwd()) / "runs"


def ignored_state_dir(parent: Path) -> Path:
    """``parent/.perfagent``, created with a ``.gitignore`` that ignores all of it."""
    state = parent / STATE_DIR
    state.mkdir(parents=True, exist_ok=True)
    ignore = state / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# perfagent's run dirs; never part of the repository\n*\n")
    return state
