"""The samplers: py-spy for Python stacks, perf for native ones. Each gives ``Stack``s."""

from __future__ import annotations

import functools
import re
import shutil
import sysconfig
from pathlib import Path

from perfagent.tools import runner
from perfagent.tools.errors import MeasurementError
from perfagent.tools.profile.model import Frame, Stack

_PYSPY_FRAME = re.compile(r"^(?P<name>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
_PERF_FRAME = re.compile(r"^\s*[0-9a-f]+\s+(?P<sym>.+?)\s+\((?P<dso>[^()]*)\)\s*$")


def pyspy_executable() -> str:
    """py-spy from our own environment first: the child's PATH may not include it."""
    ours = Path(sysconfig.get_path("scripts")) / "py-spy"
    if ours.is_file():
        return str(ours)
    found = shutil.which("py-spy")
    if found is None:
        raise MeasurementError("py-spy is not installed (pip install py-spy)")
    return found


# py-spy's words when it could not find the interpreter in the process it started: on a
# loaded machine it can look before the process has mapped Python (seen under a Dask batch).
PYSPY_MISSED_START = "No python processes found in process"


def pyspy_wrapper(out: Path, *, rate: int, native: bool) -> list[str]:
    argv = [
        pyspy_executable(),
        "record",
        "--format",
        "raw",
        "--rate",
        str(rate),
        "--full-filenames",
        "--subprocesses",
        "--output",
        str(out),
    ]
    if native:
        argv.append("--native")
    return [*argv, "--"]


def parse_pyspy_raw(text: str) -> list[Stack]:
    """py-spy's raw (collapsed) format: ``frame;frame;... count`` per line, root first."""
    stacks = []
    for line in text.splitlines():
        body, _, count = line.rstrip().rpartition(" ")
        if not body.strip() or not count.isdigit():
            continue
        frames = []
        for part in body.split(";"):
            if part.startswith(("process ", "thread ")):
                continue  # --subprocesses / --threads pseudo-frames
            match = _PYSPY_FRAME.match(part)
            if match is None:
                frames.append(Frame(part, "", 0))
            else:
                frames.append(Frame(match["name"], match["file"], int(match["line"] or 0)))
        if frames:
            stacks.append(Stack(tuple(frames), int(count)))
    return stacks


@functools.cache
def perf_status() -> str:
    """'' when ``perf record`` works here, else why not (absent, not permitted...)."""
    if shutil.which("perf") is None:
        return "perf is not installed (apt-get install linux-perf)"
    probe_dir = Path("/tmp")
    out = probe_dir / f"perfagent-perf-probe-{id(probe_dir)}.data"
    result = runner.run(
        ["perf", "record", "-e", "cpu-clock", "-g", "-o", str(out), "--", "true"],
        cwd=probe_dir,
        limits=runner.Limits(timeout_s=30),
    )
    out.unlink(missing_ok=True)
    if result.ok:
        return ""
    return f"perf record is not usable here ({result.summary()})"


def perf_wrapper(out: Path, *, rate: int) -> list[str]:
    # cpu-clock is a software event: it works where hardware counters are not exposed.
    return [
        "perf",
        "record",
        "-e",
        "cpu-clock",
        "-F",
        str(rate),
        "-g",
        "--quiet",
        "-o",
        str(out),
        "--",
    ]


def perf_stacks(data: Path, *, timeout_s: float = 300) -> list[Stack]:
    result = runner.run(
        ["perf", "script", "-i", str(data)],
        cwd=data.parent,
        limits=runner.Limits(timeout_s=timeout_s, output_bytes=200_000_000),
    )
    if not result.ok:
        raise MeasurementError(f"perf script failed: {result.summary()}")
    return parse_perf_script(result.stdout)


def parse_perf_script(text: str) -> list[Stack]:
    """``perf script`` blocks: an event header, then frames leaf first, then a blank line."""
    counts: dict[tuple[Frame, ...], int] = {}
    for block in text.split("\n\n"):
        frames = []
        for line in block.splitlines()[1:]:
            match = _PERF_FRAME.match(line)
            if match is None:
                continue
            symbol = re.sub(r"\+0x[0-9a-f]+$", "", match["sym"])
            frames.append(Frame(symbol, match["dso"], 0))
        if frames:
            key = tuple(reversed(frames))
            counts[key] = counts.get(key, 0) + 1
    return [Stack(frames, n) for frames, n in counts.items()]
