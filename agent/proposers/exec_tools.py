"""Execution tools a model may call while proposing: try a draft edit, run the tests on it.

``try_edit`` takes a draft in any answer format the proposer accepts (SEARCH/REPLACE blocks,
a unified diff, a function rewrite), dry-runs it on the request's tree, asks the guard, then
measures it against the run's base in a throwaway tree of the run's ``PreparedTask``: a few
interleaved runs of the *visible* workload only (``hidden=False``), the tests and the
equivalence check. ``run_tests`` runs the task's test commands on a draft. Each answer is one
compact text (the ratio with its CI and verdict, the equivalence result, the first failing
test, the guard's rejections and flags, or the edit's error).

Hidden workloads are never reachable: no call here asks the lab for them, and no answer
names them. A per-proposal budget (calls and seconds), separate from the read-only tools',
bounds the time spent; once used up, every call is answered with ``EXEC_BUDGET_EXHAUSTED``.
Every call is recorded as a ``ToolRun`` (name, arguments, result, seconds).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from perfagent.agent.models.base import ToolCall, ToolSpec
from perfagent.agent.proposers.base import ToolRun
from perfagent.tools.bench.session import SessionConfig
from perfagent.tools.bench.workloads import Variant
from perfagent.tools.edit import EditError, apply_edits, parse_edits
from perfagent.tools.errors import PerfagentError
from perfagent.tools.guard import check_candidate
from perfagent.tools.lab import MeasureOptions, MeasureReport, measure
from perfagent.tools.lab.measure import run_tests
from perfagent.tools.lab.prepared import PreparedTask, task_limits
from perfagent.tools.lab.report import TestResult

EXEC_BUDGET_EXHAUSTED = "execution budget exhausted: answer with your edit now"
SUMMARY_CHARS = 160  # of an argument or a result, as recorded in a ToolRun

_EDIT = {
    "type": "object",
    "properties": {
        "edit": {
            "type": "string",
            "description": "The draft edit, in the same format as your answer"
            " (SEARCH/REPLACE blocks, a unified diff or a function rewrite)",
        }
    },
    "required": ["edit"],
}
EXEC_TOOL_SPECS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "try_edit",
        "Apply a draft edit to a copy of the repository and run a quick screen: a few"
        " interleaved runs of the visible workload against the current code (speedup with"
        " its confidence interval and verdict), the output equivalence check and the tests."
        " Costs real time; the number of calls is limited.",
        _EDIT,
    ),
    ToolSpec(
        "run_tests",
        "Run the task's test commands on a draft edit: pass/fail and the first failing line.",
        _EDIT,
    ),
)
EXEC_TOOL_NAMES = frozenset(spec.name for spec in EXEC_TOOL_SPECS)


def quick_session() -> SessionConfig:
    """A screen of a few runs: enough to tell a clear loser from a clear winner."""
    return SessionConfig(min_runs=3, max_runs=6, max_time_s=60.0, warmup_rounds=1)


@dataclass(frozen=True)
class ExecBudget:
    max_calls: int = 3
    max_seconds: float = 600.0


@dataclass
class DraftLab:
    """What the execution tools may use: the run's prepared task and the kept edits."""

    prepared: PreparedTask
    base_patch: str = ""  # the edits kept so far: the request's tree is base + these
    session: SessionConfig = field(default_factory=quick_session)
    workdir_parent: Path | None = None


def _short(text: str, limit: int = SUMMARY_CHARS) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class ExecTools:
    def __init__(
        self,
        lab: DraftLab,
        tree: Path,
        protected: tuple[str, ...],
        budget: ExecBudget,
        *,
        record: list[ToolRun] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lab = lab
        self.tree = tree
        self.protected = protected
        self.budget = budget
        self.clock = clock
        self.runs: list[ToolRun] = record if record is not None else []  # appended to
        self._calls = 0
        self._seconds = 0.0

    @property
    def exhausted(self) -> bool:
        return self._calls >= self.budget.max_calls or self._seconds >= self.budget.max_seconds

    def run(self, call: ToolCall) -> str:
        """Answer one call in words; never raises for the model's mistakes."""
        if self.exhausted:
            return EXEC_BUDGET_EXHAUSTED
        edit = call.arguments.get("edit")
        started = self.clock()
        if not isinstance(edit, str) or not edit.strip():
            result = f"{call.name} needs an 'edit' argument: the draft, as in your answer"
        elif call.name == "try_edit":
            result = self.try_edit(edit)
        else:
            result = self.run_tests(edit)
        seconds = self.clock() - started
        self._seconds += seconds
        self._calls += 1
        self.runs.append(
            ToolRun(
                name=call.name,
                arguments=_short(edit if isinstance(edit, str) else repr(call.arguments)),
                result=_short(result),
                seconds=seconds,
            )
        )
        left = self.budget.max_calls - self._calls
        return f"{result}\n({left} execution call{'s' * (left != 1)} left)"

    # -- the tools --------------------------------------------------------------------------
    def _draft(self, edit: str) -> tuple[str | None, str]:
        """The draft's diff against the request's tree and the guard's words, or None and
        why it cannot be tried."""
        try:
            outcome = apply_edits(
                self.tree, parse_edits(edit), protected=self.protected, write=False
            )
        except EditError as exc:
            return None, f"edit error: {exc.feedback}"
        if not outcome.diff.strip():
            return None, "edit error: the draft changes nothing"
        guard = check_candidate(
            self.tree, outcome.diff, protected=self.protected, workload_sources=self._visible()
        )
        if guard.rejected:
            return None, f"guard rejects the draft: {guard.rejected[0]}"
        flags = "; ".join(guard.flags)
        return outcome.diff, f"guard flags: {flags}" if flags else ""

    def _visible(self) -> list[str]:
        """The visible workload's source (never a hidden one's) for the guard."""
        task = self.lab.prepared.task
        spec = task.spec.workload
        if not spec.file:
            return []
        try:
            return [task.resolve_file(spec.file, self.tree, "workload.file").read_text()]
        except (PerfagentError, OSError):
            return []

    def try_edit(self, edit: str) -> str:
        diff, guard = self._draft(edit)
        if diff is None:
            return guard
        options = MeasureOptions(
            candidate_patch=diff,
            base_patch=self.lab.base_patch or None,
            session=self.lab.session,
            hidden=False,  # never the hidden workloads
            workdir_parent=self.lab.workdir_parent,
        )
        with self._draft_tree(diff) as tree:
            if isinstance(tree, str):
                return _lines(tree, guard)
            try:  # measure finds the same tree (trees are keyed by their patches)
                report = measure(self.lab.prepared.task, options, prepared=self.lab.prepared)
            except PerfagentError as exc:
                return _lines(f"could not measure the draft: {exc}", guard)
        return _lines(*_screen_lines(report), guard)

    def run_tests(self, edit: str) -> str:
        diff, guard = self._draft(edit)
        if diff is None:
            return guard
        prep = self.lab.prepared
        with self._draft_tree(diff) as tree:
            if isinstance(tree, str):
                return _lines(tree, guard)
            try:
                prep.build(tree)
                results = run_tests(
                    prep.task,
                    prep.env,
                    {"candidate": Variant("candidate", tree)},
                    task_limits(prep.task),
                    allow_failing=True,
                    cache=prep,
                )["candidate"]
            except PerfagentError as exc:
                return _lines(f"could not run the tests: {exc}", guard)
        return _lines(_tests_line(results), guard)

    @contextmanager
    def _draft_tree(self, diff: str) -> Iterator[Path | str]:
        """The throwaway tree of base + kept edits + the draft, removed on exit; or why it
        could not be made."""
        prep = self.lab.prepared
        try:
            tree = prep.tree([("base patch", self.lab.base_patch), ("candidate patch", diff)])
        except PerfagentError as exc:
            yield f"the draft does not apply: {exc}"
            return
        try:
            yield tree
        finally:
            prep.release(tree)


def _lines(*parts: str) -> str:
    return "\n".join(part for part in parts if part)


def _tests_line(results: list[TestResult]) -> str:
    if not results:
        return "tests: the task has no test commands"
    failing = [r for r in results if not r.passed]
    if not failing:
        return f"tests: all {len(results)} command{'s' * (len(results) > 1)} pass"
    return f"tests fail: {failing[0].command}: {failing[0].summary}"


def _screen_lines(report: MeasureReport) -> list[str]:
    """The screen's result: the visible workload only (the report holds nothing else)."""
    lo, hi = report.ci
    lines = [
        f"screen ({report.runs} runs): {report.verdict}, speedup {report.speedup:.3f}×"
        f" [{lo:.3f}, {hi:.3f}] (>1 is faster than the current code)"
    ]
    if report.equivalent is False:
        detail = next(
            (
                v.equivalence_detail
                for w in report.workloads
                for v in w.variants.values()
                if v.equivalent is False
            ),
            "",
        )
        lines.append(f"outputs differ from the current code: {detail}".rstrip(": "))
    elif report.equivalent:
        lines.append("outputs: equivalent")
    lines.append(_tests_line(report.tests.get("candidate", [])))
    lines.extend(f"flag: {flag}" for flag in report.flags)
    return lines
