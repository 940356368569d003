"""Instruction counts: a deterministic second metric that ignores a noisy machine.

``perf stat`` is used where the hardware exposes counters; elsewhere (most VMs) callgrind
counts them in software, slowly but repeatably. Hash seeds are fixed and ASLR is off so the
same code gives the same count.
"""

from __future__ import annotations

import functools
import platform
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from perfagent.tools import runner
from perfagent.tools.errors import MeasurementError

VALGRIND_SLOWDOWN = 100  # timeouts scale by this under callgrind
_TOTALS = re.compile(r"^(?:totals|summary):\s+(\d+)", re.MULTILINE)


@functools.cache
def perf_counters_available() -> bool:
    if shutil.which("perf") is None:
        return False
    probe = runner.run(
        ["perf", "stat", "-x,", "-e", "instructions:u", "true"],
        cwd="/",
        limits=runner.Limits(timeout_s=20),
    )
    return probe.ok and re.search(r"^\d+,", probe.stderr, re.MULTILINE) is not None


def backend() -> str:
    """Which counter is used here: ``perf``, ``callgrind``, or ``none``."""
    if perf_counters_available():
        return "perf"
    return "callgrind" if shutil.which("valgrind") else "none"


def _no_aslr(argv: list[str]) -> list[str]:
    if shutil.which("setarch"):
        return ["setarch", platform.machine(), "-R", *argv]
    return argv


def count(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    limits: runner.Limits,
    scratch: Path,
    sandbox: runner.Sandbox | None = None,
) -> tuple[int, runner.RunResult]:
    """Instructions executed in user space by ``argv`` (the whole process)."""
    env = {**env, "PYTHONHASHSEED": "0"}
    kind = backend()
    if kind == "perf":
        result = runner.run(
            _no_aslr(["perf", "stat", "-x,", "-e", "instructions:u", "--", *argv]),
            cwd=cwd,
            env=env,
            limits=limits,
            sandbox=sandbox,
        )
        match = re.search(r"^(\d+),", result.stderr, re.MULTILINE)
        if not result.ok or match is None:
            raise MeasurementError(f"perf stat failed: {result.summary()}")
        return int(match.group(1)), result
    if kind == "none":
        raise MeasurementError(
            "--metric instructions needs valgrind (apt-get install valgrind) "
            "or perf with hardware counters; neither is available"
        )
    out = scratch / "callgrind.out"
    slow = replace(limits, timeout_s=limits.timeout_s * VALGRIND_SLOWDOWN, memory_mb=None)
    result = runner.run(
        _no_aslr(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                "--dump-instr=no",
                "--trace-children=no",
                *argv,
            ]
        ),
        cwd=cwd,
        env=env,
        limits=slow,
        sandbox=sandbox,
    )
    try:
        text = out.read_text(encoding="utf-8", errors="replace") if out.is_file() else ""
    finally:
        out.unlink(missing_ok=True)
    match = _TOTALS.search(text)
    if not result.ok or match is None:
        raise MeasurementError(f"callgrind failed: {result.summary()}")
    return int(match.group(1)), result
