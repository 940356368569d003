"""Parsing of single log lines into :class:`LogRecord` objects.

The accepted format is the one produced by most Python and Go services::

    2024-03-01T12:00:01.123Z [INFO] api.worker: Request 1234 took 35ms
    2024-03-01 12:00:01,123 WARN db.pool: pool exhausted (size=10)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Iterator

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

_LEVEL_ALIASES = {
    "WARN": "WARNING",
    "ERR": "ERROR",
    "FATAL": "CRITICAL",
    "CRIT": "CRITICAL",
    "TRACE": "DEBUG",
}

_LINE_RE = re.compile(
    r"^(?P<timestamp>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?Z?)\s+"
    r"\[?(?P<level>[A-Za-z]+)\]?\s+"
    r"(?P<source>[\w.\-]+):\s*"
    r"(?P<message>.*?)\s*$"
)


class LogParseError(ValueError):
    """Raised when a line does not look like a log record."""


@dataclass(frozen=True)
class LogRecord:
    """One parsed log line."""

    timestamp: str
    level: str
    source: str
    message: str


def normalize_level(level: str) -> str:
    """Return the canonical spelling of a level name (``warn`` -> ``WARNING``)."""
    upper = level.upper()
    upper = _LEVEL_ALIASES.get(upper, upper)
    if upper not in LEVELS:
        raise LogParseError(f"unknown log level {level!r}")
    return upper


def parse_line(line: str) -> LogRecord:
    """Parse one log line.

    Raises :class:`LogParseError` if the line is not a log record.
    """
    match = _LINE_RE.match(line)
    if match is None:
        raise LogParseError(f"not a log line: {line[:80]!r}")
    return LogRecord(
        timestamp=match["timestamp"],
        level=normalize_level(match["level"]),
        source=match["source"],
        message=match["message"],
    )


def parse_lines(lines: Iterable[str], *, strict: bool = False) -> Iterator[LogRecord]:
    """Parse many lines, skipping blank ones.

    Unparsable lines are skipped unless ``strict`` is true, in which case the
    :class:`LogParseError` propagates.
    """
    for line in lines:
        if not line.strip():
            continue
        try:
            yield parse_line(line)
        except LogParseError:
            if strict:
                raise
