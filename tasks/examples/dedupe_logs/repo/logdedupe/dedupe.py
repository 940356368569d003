"""De-duplication of parsed log records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

from logdedupe.normalize import fingerprint, normalize_message
from logdedupe.parser import LEVELS, LogParseError, LogRecord, normalize_level, parse_line


@dataclass
class DedupeEntry:
    """A distinct message: its first occurrence plus how often it was seen."""

    record: LogRecord
    key: str
    count: int = 1
    last_seen: str = ""

    def __post_init__(self) -> None:
        if not self.last_seen:
            self.last_seen = self.record.timestamp


@dataclass
class DedupeReport:
    """The result of :func:`dedupe_lines`."""

    entries: list[DedupeEntry] = field(default_factory=list)
    total: int = 0  # parsed records, before filtering
    suppressed: int = 0
    unparsable: int = 0

    @property
    def duplicates(self) -> int:
        """Number of kept lines that repeated an earlier message."""
        return self.total - self.suppressed - len(self.entries)

    def level_counts(self, *, unique: bool = False) -> dict[str, int]:
        """Lines per level (every occurrence, or distinct messages if ``unique``)."""
        counts = dict.fromkeys(LEVELS, 0)
        for entry in self.entries:
            counts[entry.record.level] += 1 if unique else entry.count
        return counts

    def most_common(self, n: int = 10) -> list[DedupeEntry]:
        """The ``n`` most repeated messages, ties broken by first appearance."""
        return sorted(self.entries, key=lambda e: -e.count)[:n]

    def summary(self) -> str:
        """A short human-readable summary."""
        levels = ", ".join(f"{k.lower()}={v}" for k, v in self.level_counts().items() if v)
        return (
            f"{self.total} lines, {len(self.entries)} distinct, {self.duplicates} duplicates,"
            f" {self.suppressed} suppressed, {self.unparsable} unparsable ({levels})"
        )


def deduplicate(
    records: Iterable[LogRecord],
    *,
    key: Callable[[LogRecord], str] = fingerprint,
) -> list[DedupeEntry]:
    """Collapse records with the same ``key`` into one entry, keeping first-seen order."""
    seen: list[str] = []
    entries: list[DedupeEntry] = []
    for record in records:
        k = key(record)
        if k in seen:
            entry = entries[seen.index(k)]
            entry.count += 1
            entry.last_seen = record.timestamp
        else:
            seen.append(k)
            entries.append(DedupeEntry(record=record, key=k))
    return entries


def dedupe_lines(
    lines: Iterable[str],
    *,
    suppress: Iterable[str] = (),
    min_level: str = "DEBUG",
    strict: bool = False,
) -> DedupeReport:
    """Parse, filter and de-duplicate raw log lines.

    ``suppress`` holds messages to drop entirely; they are compared after
    normalisation, so ``"heartbeat 1"`` also drops ``"heartbeat 2"``. Records below
    ``min_level`` are dropped too (and counted as suppressed).
    """
    report = DedupeReport()
    suppress = list(suppress)
    threshold = LEVELS.index(normalize_level(min_level))
    kept: list[LogRecord] = []
    for line in lines:
        if not line.strip():
            continue
        try:
            record = parse_line(line)
        except LogParseError:
            if strict:
                raise
            report.unparsable += 1
            continue
        report.total += 1
        if LEVELS.index(record.level) < threshold:
            report.suppressed += 1
            continue
        if any(normalize_message(record.message) == normalize_message(s) for s in suppress):
            report.suppressed += 1
            continue
        kept.append(record)
    report.entries = deduplicate(kept)
    return report
