"""Collapse noisy application logs into unique, normalised messages."""

from logdedupe.dedupe import DedupeEntry, DedupeReport, dedupe_lines, deduplicate
from logdedupe.normalize import fingerprint, normalize_message
from logdedupe.parser import LEVELS, LogParseError, LogRecord, parse_line, parse_lines

__all__ = [
    "LEVELS",
    "DedupeEntry",
    "DedupeReport",
    "LogParseError",
    "LogRecord",
    "dedupe_lines",
    "deduplicate",
    "fingerprint",
    "normalize_message",
    "parse_line",
    "parse_lines",
]

__version__ = "0.3.1"
