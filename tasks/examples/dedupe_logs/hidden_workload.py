"""Hidden workload: a fleet's syslog-style stream with many distinct messages.

Records are parsed up front; the timed part de-duplicates them with the default
fingerprint, by exact message text and by a coarse per-service key, then runs the
line-level pipeline on a WARNING-and-above slice.
"""

from __future__ import annotations

import random

from logdedupe import LogRecord, dedupe_lines, deduplicate, parse_lines

RECORDS: list[LogRecord] = []
LINES: list[str] = []

_ADJECTIVES = ["amber", "brisk", "cobalt", "dusky", "ember", "frosty", "gilded", "hazel",
               "ivory", "jade", "kelp", "lunar", "misty", "noble", "onyx", "pearl"]
_ROLES = ["web", "worker", "db", "cache", "edge", "batch"]
_SERVICES = ["nginx", "postgres", "redis", "cron", "sshd", "kubelet", "dockerd", "systemd"]
_DEVICES = ["sda", "sdb", "nvme", "md", "xvda", "loop"]
_UNITS = ["backup", "logrotate", "certbot", "metrics", "fstrim", "apt-daily", "journald"]


def _line(rng: random.Random, second: int) -> str:
    host = f"{rng.choice(_ROLES)}-{rng.choice(_ADJECTIVES)}-{rng.choice(_ADJECTIVES)}"
    service = rng.choice(_SERVICES)
    kind = rng.randrange(6)
    if kind == 0:
        level = "WARN"
        msg = f"disk {rng.choice(_DEVICES)} usage at {rng.randrange(70, 100)}% on {host}"
    elif kind == 1:
        level = "INFO"
        msg = f"unit {rng.choice(_UNITS)}.service on {host} finished in {rng.random() * 90:.2f}s"
    elif kind == 2:
        level = "ERROR"
        msg = f"{service} on {host} exited with status {rng.randrange(1, 140)}"
    elif kind == 3:
        level = "INFO"
        msg = (f"accepted publickey for {rng.choice(_ADJECTIVES)} from "
               f"172.16.{rng.randrange(256)}.{rng.randrange(256)} "
               f"port {rng.randrange(1024, 65535)}")
    elif kind == 4:
        level = "DEBUG"
        msg = f"{service} gc pause {rng.randrange(1, 500)}ms heap {rng.randrange(64, 8192)}MB"
    else:
        level = "CRIT"
        msg = (f"{host} unreachable from {rng.choice(_ROLES)}-{rng.choice(_ADJECTIVES)}: "
               f"{rng.randrange(3, 30)} probes lost")
    ts = (f"2024-06-{1 + second // 86400:02d} "
          f"{second // 3600 % 24:02d}:{second // 60 % 60:02d}:{second % 60:02d},"
          f"{rng.randrange(1000):03d}")
    return f"{ts} {level} {host}.{service}: {msg}"


def setup() -> None:
    global RECORDS, LINES
    rng = random.Random(61)
    second = 0
    lines = []
    for _ in range(3000):
        second += rng.randrange(1, 40)
        lines.append(_line(rng, second))
    LINES = lines
    RECORDS = list(parse_lines(lines))


def workload() -> dict[str, object]:
    entries = deduplicate(RECORDS)
    exact = deduplicate(RECORDS, key=lambda r: r.message)
    per_service = deduplicate(RECORDS, key=lambda r: f"{r.source.rpartition('.')[2]}|{r.level}")
    serious = dedupe_lines(LINES[::3], min_level="warn")
    return {
        "distinct": len(entries),
        "entries": [[e.key, e.count, e.last_seen] for e in entries],
        "exact_repeats": [[e.key, e.count] for e in exact if e.count > 1],
        "exact_distinct": len(exact),
        "per_service": [[e.key, e.count] for e in per_service],
        "serious": serious.summary(),
        "serious_top": [[e.key, e.count] for e in serious.most_common(15)],
    }
