"""One exception family for everything a user can fix; each message is one line."""

from __future__ import annotations


class PerfagentError(Exception):
    """A problem with the user's input or environment, reported as one clear line."""

    def __str__(self) -> str:
        # Multi-line causes (tracebacks, tool output) are folded so a CLI can print one line.
        return " ".join(super().__str__().split())


class TaskSpecError(PerfagentError):
    """The task file is malformed or names something that does not exist."""


class WorkspaceError(PerfagentError):
    """The repository, ref or a patch could not be turned into a tree."""


class EnvironmentSetupError(PerfagentError):
    """The task's setup or build commands failed."""


class BaselineError(PerfagentError):
    """The unmodified code fails: its workload crashes or its tests fail."""


class MeasurementError(PerfagentError):
    """A workload run failed in a way that makes a measurement impossible; ``variant`` names
    the variant whose run failed, when one did (callers decide on it, never on the text)."""

    def __init__(self, message: str, *, variant: str | None = None) -> None:
        super().__init__(message)
        self.variant = variant
