"""Typed progress events: what a long operation is doing now, for a display to show.

Producers (``measure``, ``profile_task``, the agent's nodes and driver) call a ``Progress``
callback with these records; a display reads their fields, never their text. ``text`` is
only the human line for plain (non-TTY) output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Stage = Literal[
    "task",
    "workspace",
    "setup",
    "build",
    "tests",
    "baseline",
    "profile",
    "propose",
    "check",
    "screen",
    "verdict",
    "decide",
    "final",
    "judge",
    "report",
    "measure",
    "calibrate",
    "batch",
]


@dataclass(frozen=True)
class StageStarted:
    """A step begins: ``stage`` is what kind, ``text`` says it for people."""

    stage: Stage
    text: str


@dataclass(frozen=True)
class SamplingRound:
    """One interleaved round of a measurement session finished (one process per variant)."""

    workload: str
    runs: int  # timed runs of base so far (each variant has as many)
    max_runs: int  # the session's cap
    elapsed_s: float
    max_time_s: float  # the session's sampling budget
    speedups: dict[str, float]  # variant → current estimate (after min_runs; else empty)

    @property
    def eta_s(self) -> float:
        """Most seconds left in this session: the cap on runs or on time, whichever is first."""
        if self.runs <= 0:
            return self.max_time_s
        per_run = self.elapsed_s / self.runs
        by_runs = per_run * max(self.max_runs - self.runs, 0)
        return max(0.0, min(by_runs, self.max_time_s - self.elapsed_s))


@dataclass(frozen=True)
class RunPosition:
    """Where an optimisation run is: round r of max, candidate k of n in this round."""

    round: int
    max_rounds: int
    candidate: int  # 1-based index of the candidate being evaluated; 0 when none is
    candidates: int  # candidates proposed in this round
    elapsed_s: float
    max_time_s: float | None  # the run's wall-time budget, if any


ProgressEvent = StageStarted | SamplingRound | RunPosition
Progress = Callable[[ProgressEvent], None]


def ignore(_event: ProgressEvent) -> None:
    """The default ``Progress``: nobody is watching."""


def clock(seconds: float) -> str:
    """``75`` → ``1m15s``; ``4000`` → ``1h06m``."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def describe(event: ProgressEvent) -> str:
    """One plain line for logs and non-TTY output."""
    match event:
        case StageStarted(text=text):
            return text
        case SamplingRound():
            figures = "; ".join(f"{name} {value:.3f}×" for name, value in event.speedups.items())
            return (
                f"{event.workload}: {event.runs}/{event.max_runs} runs, "
                f"≤ {clock(event.eta_s)} left" + (f" ({figures})" if figures else "")
            )
        case RunPosition():
            budget = f" of {clock(event.max_time_s)}" if event.max_time_s else ""
            candidate = (
                f", candidate {event.candidate}/{event.candidates}" if event.candidate else ""
            )
            return (
                f"round {event.round}/{event.max_rounds}{candidate}, "
                f"{clock(event.elapsed_s)}{budget} elapsed"
            )
