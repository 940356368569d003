"""One Python environment per task, shared by every variant tree.

Base, expert and candidates run with the same interpreter and dependencies; only the tree
differs. Each variant's own code wins imports because its tree leads ``PYTHONPATH``, ahead of
anything an editable install in ``setup`` may have pinned (``tools/bench/driver.py`` also
verifies at run time that no module was imported from another variant's tree).

Every command that runs the task's code goes through ``sandbox(tree)``: the venv is writable
only while ``setup`` (and the base tree's ``build``) runs, read-only once sealed after it.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from collections.abc import Mapping, Sequence
from pathlib import Path

from perfagent.tools import runner
from perfagent.tools.errors import EnvironmentSetupError

VENV_TIMEOUT_S = 300
_PIP_SHIM = '#!/bin/sh\nexec "$(dirname "$0")/python" -m pip "$@"\n'


class TaskEnvironment:
    """A venv (``--system-site-packages``, so tools such as pytest are at hand) plus the
    environment variables a command needs to run against one variant tree."""

    def __init__(
        self,
        root: Path,
        *,
        python: str | None = None,
        limits: runner.Limits | None = None,
        isolation: runner.IsolationLevel | None = None,
    ) -> None:
        self.root = root
        self.base_python = python or sys.executable
        self.limits = limits or runner.Limits()
        # Fixed when the environment is made: the run's level (runner.use_isolation).
        self.isolation: runner.IsolationLevel = isolation or runner.isolation_level()
        self.sealed = False  # True once setup and the base build ran: the venv is read-only
        self._base_tree: Path | None = None

    def sandbox(
        self,
        tree: Path,
        *,
        writable: Sequence[Path] = (),
        readable: Sequence[Path] = (),
        venv_writable: bool = False,
    ) -> runner.Sandbox:
        """The sandbox of a command run against ``tree``: the tree (and ``writable``)
        writable, the venv read-only (writable only for setup and the base build), the
        interpreters and ``readable`` read-only; nothing else of the host."""
        python = self.python if self.python.exists() else Path(self.base_python)
        interpreter = Path(os.path.realpath(python))
        ours = sysconfig.get_paths()
        seen = [
            self.root,
            interpreter.parent.parent,  # the base interpreter's prefix (its stdlib)
            Path(sys.base_prefix),
            Path(ours["purelib"]),  # perfagent's own packages (pytest...), see .pth below
            Path(ours["platlib"]),
            *readable,
            # Over the writable tree: its git metadata (a clone's config, hooks) stays as is.
            tree / ".git",
        ]
        if venv_writable:
            return runner.Sandbox(self.isolation, (tree, self.root, *writable), tuple(seen[1:]))
        return runner.Sandbox(self.isolation, (tree, *writable), tuple(seen))

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    def create(self) -> None:
        # No ensurepip (slow): the base interpreter's pip, visible through system site
        # packages, installs into this venv when run as this venv's python.
        result = runner.run(
            [
                self.base_python,
                "-m",
                "venv",
                "--system-site-packages",
                "--without-pip",
                str(self.root),
            ],
            cwd=self.root.parent,
            limits=runner.Limits(timeout_s=VENV_TIMEOUT_S),
            network=False,
        )
        if not result.ok:
            raise EnvironmentSetupError(
                f"cannot create a venv with {self.base_python}: {result.summary()}"
            )
        self._inherit_running_environment()
        shim = self.root / "bin" / "pip"
        if not shim.exists():
            shim.write_text(_PIP_SHIM, encoding="utf-8")
            shim.chmod(0o755)

    def _inherit_running_environment(self) -> None:
        """When perfagent itself runs in a venv, ``--system-site-packages`` reaches only the
        base interpreter's packages; a .pth file adds ours (pytest and friends) after the
        task venv's own site-packages, so what ``setup`` installs still wins."""
        if self.base_python != sys.executable or sys.prefix == sys.base_prefix:
            return
        ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        site = self.root / "lib" / version / "site-packages"
        if site.is_dir():
            (site / "_perfagent_parent_env.pth").write_text(
                "".join(f"{p}\n" for p in sorted(ours)), encoding="utf-8"
            )

    def variables(self, tree: Path) -> dict[str, str]:
        """Environment for a command run against ``tree`` (before the runner scrubs it)."""
        paths = [str(tree)]
        if (tree / "src").is_dir():
            paths.append(str(tree / "src"))
        return {
            "PATH": f"{self.root / 'bin'}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "VIRTUAL_ENV": str(self.root),
            "PYTHONPATH": os.pathsep.join(paths),
            "PYTHONNOUSERSITE": "1",
            # No bytecode is written: trees stay clean, and a file edited within the same
            # second as its cached .pyc (same size) can never run stale. Installed packages
            # keep their own caches.
            "PYTHONDONTWRITEBYTECODE": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_NO_INPUT": "1",
        }

    def run_commands(
        self,
        commands: Sequence[str],
        tree: Path,
        *,
        what: str,
        network: bool,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        """Run shell commands in ``tree``; the first failure raises a one-line error."""
        env = {**self.variables(tree), **(extra_env or {})}
        sandbox = self.sandbox(tree, venv_writable=not self.sealed)
        for command in commands:
            result = runner.run(
                command, cwd=tree, env=env, limits=self.limits, network=network, sandbox=sandbox
            )
            if not result.ok:
                raise EnvironmentSetupError(
                    f"{what} command {command!r} failed in {tree.name}: {result.summary()}"
                )

    def setup(self, commands: Sequence[str], base_tree: Path, *, network: bool = False) -> None:
        """The task's ``setup`` (dependencies): once, in the base tree, with network only
        where the task allows it (its ``setup_network``)."""
        self._base_tree = base_tree
        self.run_commands(commands, base_tree, what="setup", network=network)

    def build(self, commands: Sequence[str], tree: Path) -> None:
        """The task's ``build``: in every variant tree once its code is in place. The base
        tree's build (the repository as given, trusted like setup) may still write the venv;
        it is sealed read-only before any other variant's code runs."""
        if tree != self._base_tree:
            self.sealed = True
        self.run_commands(commands, tree, what="build", network=False)
        self.sealed = True
