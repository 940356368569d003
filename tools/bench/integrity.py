"""Whether an output can be judged in full: where two whole outputs differ.

A ``command`` workload's stdout may be far larger than what a ``RunResult`` keeps (its first
and last part); the runner hashes all of it and can spill it to a file. ``first_difference``
streams two such files and names the first line that differs, with a capped excerpt of each
side, so a change in the middle of megabytes of output is both caught and shown.
"""

from __future__ import annotations

import itertools
from pathlib import Path

_EXCERPT_CHARS = 160


def first_difference(expected: Path, actual: Path) -> str | None:
    """Where two outputs first differ, as one line with a capped excerpt of each side, or
    None when they are the same. Streams both files: outputs may be large."""
    with expected.open("rb") as left, actual.open("rb") as right:
        for number, (want, got) in enumerate(itertools.zip_longest(left, right), start=1):
            if want != got:
                return (
                    f"stdout differs from base's at line {number}: expected "
                    f"{_excerpt(want)}, got {_excerpt(got)}"
                )
    return None


def _excerpt(line: bytes | None) -> str:
    if line is None:
        return "end of output"
    text = line.decode("utf-8", errors="replace").rstrip("\n")
    return repr(text if len(text) <= _EXCERPT_CHARS else text[:_EXCERPT_CHARS] + "…")
