"""Normalisation of log messages, so that messages differing only in their
variable parts (ids, numbers, addresses) compare equal."""

from __future__ import annotations

import re

from logdedupe.parser import LogRecord

# One alternative per placeholder; earlier alternatives win, so the specific shapes
# (UUIDs, addresses, hex ids) come before the generic number rule.
_VARIABLE_RE = re.compile(
    r"""
      (?P<uuid>\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b)
    | (?P<ip>\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b)
    | (?P<hex>\b0x[0-9a-f]+\b | \b(?=[0-9a-f]*\d)[0-9a-f]{16,}\b)
    | (?P<num>(?<!\w)-?\d+(?:\.\d+)?)
    """,
    re.IGNORECASE | re.VERBOSE,
)


def _placeholder(match: re.Match[str]) -> str:
    return f"<{match.lastgroup}>"


def normalize_message(message: str) -> str:
    """Replace the variable parts of ``message`` with placeholders and collapse whitespace.

    >>> normalize_message("Request 1234 from 10.0.0.5 took 35ms")
    'Request <num> from <ip> took <num>ms'
    """
    return " ".join(_VARIABLE_RE.sub(_placeholder, message).split())


def fingerprint(record: LogRecord) -> str:
    """The identity of a record for de-duplication: level, source and normalised message."""
    return f"{record.level}|{record.source}|{normalize_message(record.message)}"
