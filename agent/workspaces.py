"""The run-scoped registry of prepared tasks: one workspace per run, never in state.

Every node that needs a tree asks ``RunWorkspaces.of(run_id, task)``: the first asks for the
clone, the venv and ``setup``; later ones get the same ``PreparedTask`` and its trees. The
registry lives in the run's context, so a resumed run (a new process) starts empty and
rebuilds what it needs from the checkpoint's facts (the task file and the kept patch):
nodes stay safe to run again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from perfagent.tools.lab.prepared import PreparedTask
from perfagent.tools.progress import Progress
from perfagent.tools.taskspec import Task


class RunWorkspaces:
    def __init__(self) -> None:
        self._open: dict[str, PreparedTask] = {}

    def of(
        self,
        run_id: str,
        task: Task,
        *,
        workdir_parent: Path | None = None,
        say: Progress | None = None,
    ) -> PreparedTask:
        prepared = self._open.get(run_id)
        if prepared is None:
            prepared = PreparedTask(task, workdir_parent=workdir_parent, say=say)
            self._open[run_id] = prepared
        return prepared

    def seconds(self, run_id: str) -> float:
        """Time spent preparing for ``run_id`` so far (clone, venv, setup, trees, builds)."""
        prepared = self._open.get(run_id)
        return prepared.counts.seconds if prepared is not None else 0.0

    def counts(self, run_id: str) -> dict[str, Any] | None:
        prepared = self._open.get(run_id)
        return prepared.counts.to_json() if prepared is not None else None

    def close(self, run_id: str) -> None:
        prepared = self._open.pop(run_id, None)
        if prepared is not None:
            prepared.close()
