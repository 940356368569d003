"""Which operating systems the runner works on, said in one line before anything runs.

The runner waits on process groups with ``os.waitid`` / ``os.pidfd_open`` and pins CPUs with
``os.sched_getaffinity``: Linux only. Elsewhere (macOS, Windows) those names are missing and
the first workload would fail with an AttributeError deep inside.
"""

from __future__ import annotations

import os
import sys

RUNNER_NEEDS = ("waitid", "pidfd_open", "sched_getaffinity")


def unsupported() -> str | None:
    """None on a Linux that has what the runner needs, else one line saying what is missing."""
    missing = [f"os.{name}" for name in RUNNER_NEEDS if not hasattr(os, name)]
    if sys.platform.startswith("linux") and not missing:
        return None
    lacking = f" (no {', '.join(missing)})" if missing else ""
    return (
        f"running workloads needs Linux; this is {sys.platform}{lacking}: the commands that "
        "run them are unavailable here (report and tasks import work)"
    )
