"""What a long command shows while it works, read from typed progress events.

On a terminal: a live panel on stderr (stage, round r of max, candidate k of n, runs so far
against the cap, time left by the budgets). Elsewhere: plain lines on stderr, no source
locations, no wrapping. ``-q``: nothing. stdout is never written, so ``--json`` output stays
pure. The events come from ``perfagent.tools.progress``; nothing here parses text.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import click

from perfagent.tools.progress import (
    ProgressEvent,
    RunPosition,
    SamplingRound,
    Stage,
    StageStarted,
    clock,
    describe,
)

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.live import Live

_VERBOSITY = "perfagent.verbosity"  # key in click's shared context meta: -1 quiet, 0, 1 verbose
F = TypeVar("F", bound=Callable[..., Any])


def configure_logging(verbosity: int) -> None:
    level = {-1: logging.ERROR, 0: logging.WARNING}.get(verbosity, logging.INFO)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", force=True)


def _remember(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        ctx.meta[_VERBOSITY] = -1 if param.name == "quiet" else 1
        configure_logging(ctx.meta[_VERBOSITY])
    return value


def verbosity_options(command: F) -> F:
    """``-q`` / ``-v`` for a command (and the group): quiet shows errors only."""
    command = click.option(
        "-v",
        "--verbose",
        is_flag=True,
        expose_value=False,
        callback=_remember,
        help="Also log what the tools do.",
    )(command)
    return click.option(
        "-q",
        "--quiet",
        is_flag=True,
        expose_value=False,
        callback=_remember,
        help="No progress output; errors only.",
    )(command)


def verbosity() -> int:
    context = click.get_current_context(silent=True)
    return int(context.meta.get(_VERBOSITY, 0)) if context is not None else 0


class ProgressDisplay:
    """A ``Progress`` callback and context manager: ``with ProgressDisplay("optimize") as show:``
    then pass ``show`` as the progress callback."""

    def __init__(self, title: str, *, quiet: bool | None = None, live: bool | None = None) -> None:
        self.title = title
        self.quiet = verbosity() < 0 if quiet is None else quiet
        self.live = (sys.stderr.isatty() if live is None else live) and not self.quiet
        self.started = time.monotonic()
        self.stage: StageStarted | None = None
        self.position: RunPosition | None = None
        self.sampling: SamplingRound | None = None
        self._live: Live | None = None
        self._last_line = ""
        self._last_position: tuple[int, int, int] | None = None

    def __enter__(self) -> ProgressDisplay:
        if self.live:
            # rich only when drawing: `perfagent --help` and piped runs never load it.
            from rich.console import Console
            from rich.live import Live

            console = Console(stderr=True, highlight=False)
            self._live = Live(self._panel(), console=console, refresh_per_second=4, transient=True)
            self._live.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def __call__(self, event: ProgressEvent) -> None:
        if self.quiet:
            return
        match event:
            case StageStarted():
                self.stage, self.sampling = event, None
            case SamplingRound():
                self.sampling = event
            case RunPosition():
                self.position = event
        if self._live is not None:
            self._live.update(self._panel())
        elif self._worth_a_line(event):
            self._line(describe(event))

    def note(self, text: str) -> None:
        """A line that stays (a finished batch run, a warning), above a live panel."""
        if self.quiet:
            return
        if self._live is not None:
            self._live.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            self._line(text)

    def texts(self, stage: Stage) -> Callable[[str], None]:
        """A text callback for producers that report plain lines (profile, calibrate)."""
        return lambda message: self(StageStarted(stage, message))

    def _worth_a_line(self, event: ProgressEvent) -> bool:
        # Plain output is for logs: a sampling line every 10 runs and at the cap, not each
        # run; a position line when the round or the candidate changes, not every step.
        if isinstance(event, SamplingRound):
            return event.runs in (1, event.max_runs) or (event.runs > 0 and event.runs % 10 == 0)
        if isinstance(event, RunPosition):
            where = (event.round, event.candidate, event.candidates)
            if where == self._last_position:
                return False
            self._last_position = where
        return True

    def _line(self, text: str) -> None:
        if text == self._last_line:
            return
        self._last_line = text
        # Plain text, no wrapping, no markup: file output is for tools and people alike.
        sys.stderr.write(f"[{clock(time.monotonic() - self.started):>6}] {text}\n")
        sys.stderr.flush()

    def _panel(self) -> RenderableType:
        from rich.console import Group
        from rich.spinner import Spinner
        from rich.text import Text

        lines: list[RenderableType] = []
        headline = self.stage.text if self.stage is not None else "starting"
        lines.append(Spinner("dots", text=Text.assemble((f"{self.title}: ", "bold"), headline)))
        if self.position is not None:
            p = self.position
            parts = [f"round {p.round} of {p.max_rounds}"]
            if p.candidate:
                parts.append(f"candidate {p.candidate} of {p.candidates}")
            budget = f" of {clock(p.max_time_s)} budget" if p.max_time_s else ""
            elapsed = time.monotonic() - self.started
            parts.append(f"{clock(elapsed)}{budget}")
            lines.append(Text("  " + " · ".join(parts)))
        if self.sampling is not None:
            s = self.sampling
            figures = ", ".join(f"{n} {v:.3f}×" for n, v in s.speedups.items())
            lines.append(
                Text(
                    f"  {s.workload}: {s.runs} of at most {s.max_runs} runs · "
                    f"≤ {clock(s.eta_s)} left" + (f" · {figures}" if figures else "")
                )
            )
        return Group(*lines)
