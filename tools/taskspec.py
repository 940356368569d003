"""Task specs (``tasks/*.yaml``): what to measure, where, and how to tell it still works.

The format is documented in ``tasks/README.md``. Validation is strict (unknown fields are
errors) and every error names the file and the field.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from perfagent.tools.errors import TaskSpecError

_GIT_URL = re.compile(r"^(https?://|git://|ssh://|file://|git@[^:]+:)")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimingSpec(_Strict):
    """How one timed value of a ``python``/``gso`` workload is taken (tasks/README.md).

    perfagent's own default runs ``setup()`` before every call and times one call (it resists
    caches); imported timeit scripts carry the script's own ``number``, ``setup`` and ``gc``."""

    number: Annotated[int, Field(ge=1, le=1_000_000)] = 1  # calls timed after one setup()
    setup: Literal["each", "never"] = "each"  # setup() before each `number` calls, or never
    setup_statement: str | None = None  # timeit's setup= string, run before each unit
    gc: bool = True  # the collector stays on during timed calls (timeit turns it off)
    loops: Annotated[int, Field(ge=1)] | None = None  # units per value; None = calibrated
    target_s: Annotated[float, Field(gt=0, le=60)] = 0.1  # calibration: a value lasts this
    warmup: Annotated[int, Field(ge=0, le=100)] | None = None  # values; None = 1 if loops > 1
    repeat_hint: Annotated[int, Field(ge=1)] | None = None  # the script's repeat= (a hint)


class WorkloadSpec(_Strict):
    """One timed workload. ``python``/``gso`` time a function, ``command`` a whole process,
    ``pytest`` the call duration of named tests."""

    kind: Literal["python", "command", "pytest", "gso"]
    name: str | None = None
    file: str | None = None
    repeat: Annotated[int, Field(ge=1, le=1000)] = 5
    command: str | None = None
    tests: list[str] | None = None
    timing: TimingSpec = TimingSpec()

    @model_validator(mode="after")
    def _fields_for_kind(self) -> WorkloadSpec:
        needed = {"python": "file", "gso": "file", "command": "command", "pytest": "tests"}[
            self.kind
        ]
        if not getattr(self, needed):
            raise ValueError(f"workload of kind {self.kind!r} needs '{needed}'")
        if self.kind in ("command", "pytest") and self.timing != TimingSpec():
            raise ValueError(f"'timing' applies to python and gso workloads, not {self.kind!r}")
        return self

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if self.file:
            return Path(self.file).stem
        if self.command:
            return self.command.split()[0] if self.command.split() else "command"
        return "pytest"


class ExpertSpec(_Strict):
    """The reference optimisation: a commit in the repo or a patch file."""

    commit: str | None = None
    patch: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ExpertSpec:
        if (self.commit is None) == (self.patch is None):
            raise ValueError("expert needs exactly one of 'commit' or 'patch'")
        return self


class ReferenceSpec(_Strict):
    """Figures the task set itself published for this task (measured elsewhere, not here):
    ``batch --oracle`` sets them beside what it measures."""

    source: str  # who published them: "SWE-fficiency", "SWE-Perf", "GSO", ...
    expert_speedup: Annotated[float, Field(gt=0)] | None = None  # base time / expert time
    base_s: Annotated[float, Field(gt=0)] | None = None  # e.g. SWE-fficiency's "Before Mean"
    expert_s: Annotated[float, Field(gt=0)] | None = None  # ... and "After Mean"
    note: str = ""  # how the figure was taken (its statistic, runs, machine) when known

    @property
    def speedup(self) -> float | None:
        """The published speedup, or the one its before/after times imply."""
        if self.expert_speedup is not None:
            return self.expert_speedup
        if self.base_s is not None and self.expert_s is not None:
            return self.base_s / self.expert_s
        return None


class LimitsSpec(_Strict):
    timeout_s: Annotated[float, Field(gt=0)] = 600.0
    memory_mb: Annotated[int, Field(gt=0)] | None = 4096


class TaskSpec(_Strict):
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    description: str = ""
    repo: str
    ref: str = "HEAD"
    python: str | None = None
    setup: list[str] = []
    # Setup runs in the sandbox without network unless the task says it needs it (a package
    # index, a download); build, tests and workloads never have network.
    setup_network: bool = False
    build: list[str] = []
    workload: WorkloadSpec
    hidden_workloads: list[WorkloadSpec] = []
    tests: list[str] = []
    expert: ExpertSpec | None = None
    targets: list[str] = []
    # More paths a candidate may not change (globs; e.g. the benchmark suite a workload runs),
    # on top of the tests and the workload files.
    protected: list[str] = []
    limits: LimitsSpec = LimitsSpec()
    reference: ReferenceSpec | None = None


class Task:
    """A validated spec plus where it came from, which anchors its relative paths."""

    def __init__(self, spec: TaskSpec, path: Path) -> None:
        self.spec = spec
        self.path = path.resolve()
        self.dir = self.path.parent

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def repo_is_url(self) -> bool:
        return bool(_GIT_URL.match(self.spec.repo))

    def repo_location(self) -> str | Path:
        """A git URL as given, or the absolute local path of the repository folder."""
        if self.repo_is_url:
            return self.spec.repo
        return (self.dir / Path(self.spec.repo).expanduser()).resolve()

    def workloads(self, *, hidden: bool = True) -> list[WorkloadSpec]:
        return [self.spec.workload, *(self.spec.hidden_workloads if hidden else [])]

    def resolve_file(self, relative: str, repo_root: Path | None, field: str) -> Path:
        """A file named relative to the task file, or else to the repo (if it lives there)."""
        candidates = [self.dir / relative]
        if repo_root is not None:
            candidates.append(repo_root / relative)
        for candidate in candidates:
            if candidate.is_file():
                return candidate.resolve()
        where = " or ".join(str(c) for c in candidates)
        raise TaskSpecError(
            f"{self.path}: {field}: file {relative!r} not found (looked in {where})"
        )

    def expert_patch_path(self, repo_root: Path | None) -> Path | None:
        if self.spec.expert is None or self.spec.expert.patch is None:
            return None
        return self.resolve_file(self.spec.expert.patch, repo_root, "expert.patch")


def _format_validation_error(path: Path, error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) or "(top level)"
        if item["type"] == "extra_forbidden":
            parts.append(f"{field}: unknown field")
        elif item["type"] == "missing":
            parts.append(f"{field}: required field missing")
        else:
            parts.append(f"{field}: {item['msg']}")
    return f"{path}: invalid task spec: " + "; ".join(parts)


def load_task(path: str | Path) -> Task:
    """Read and validate a task file; raise TaskSpecError with a one-line reason."""
    path = Path(path)
    if not path.is_file():
        raise TaskSpecError(f"{path}: task file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise TaskSpecError(f"{path}: not valid YAML{where}") from exc
    if not isinstance(raw, dict):
        raise TaskSpecError(f"{path}: a task spec must be a YAML mapping")
    try:
        spec = TaskSpec.model_validate(raw)
    except ValidationError as exc:
        raise TaskSpecError(_format_validation_error(path, exc)) from exc
    task = Task(spec, path)
    if not task.repo_is_url and not Path(task.repo_location()).is_dir():
        raise TaskSpecError(f"{path}: repo: folder {task.repo_location()} does not exist")
    return task
