"""Visible workload: de-duplicate a day of mixed service logs (moderate cardinality)."""

from __future__ import annotations

import random

from logdedupe import dedupe_lines

LINES: list[str] = []

_SOURCES = ["api.gateway", "api.orders", "api.users", "billing.worker", "db.pool",
            "cache.redis", "auth.session", "search.indexer", "mailer", "scheduler"]
_RESOURCES = ["orders", "users", "invoices", "carts", "products", "reviews", "coupons",
              "shipments", "refunds", "sessions", "addresses", "wishlists"]
_TABLES = ["orders", "order_items", "customers", "payments", "inventory", "audit_log",
           "events", "sessions", "products", "prices", "stock_moves", "tax_rates"]
_USERS = [f"{first}.{last}" for first in ("anna", "ben", "chloe", "dev", "erik", "fatima",
                                           "gus", "hana", "ivan", "jo", "kofi", "lena",
                                           "mei", "nora", "omar", "pia", "raj", "sven")
          for last in ("smith", "khan", "lopez", "ng", "obi", "park", "quinn", "rossi",
                       "silva", "tanaka", "ueda", "vogel", "wong", "young")]
_REASONS = ["insufficient funds", "card expired", "fraud suspected", "limit exceeded",
            "issuer unavailable", "invalid cvc"]
_HOSTS = [f"{role}-{zone}" for role in ("db", "cache", "search", "queue", "mail")
          for zone in ("eu-west", "eu-north", "us-east", "us-west", "ap-south")]


def _message(rng: random.Random) -> tuple[str, str]:
    kind = rng.randrange(8)
    if kind == 0:
        return "INFO", (f"GET /api/v1/{rng.choice(_RESOURCES)}/{rng.randrange(100000)} "
                        f"returned {rng.choice((200, 200, 201, 304, 404))} "
                        f"in {rng.randrange(900)}ms")
    if kind == 1:
        return "INFO", (f"User {rng.choice(_USERS)} logged in from "
                        f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}")
    if kind == 2:
        return "DEBUG", f"Cache miss for key {rng.choice(_RESOURCES)}:{rng.randrange(10**6)}"
    if kind == 3:
        return "WARNING", (f"Slow query on table {rng.choice(_TABLES)} by {rng.choice(_USERS)}: "
                           f"{rng.randrange(5000)}ms")
    if kind == 4:
        uid = "%08x-%04x-4%03x-a%03x-%012x" % (rng.getrandbits(32), rng.getrandbits(16),
                                              rng.getrandbits(12), rng.getrandbits(12),
                                              rng.getrandbits(48))
        return "ERROR", f"Payment {uid} declined for {rng.choice(_USERS)}: {rng.choice(_REASONS)}"
    if kind == 5:
        return "ERROR", (f"Connection to {rng.choice(_HOSTS)}:{rng.choice((5432, 6379, 9200))} "
                         f"timed out after {rng.randrange(30000)}ms")
    if kind == 6:
        return "DEBUG", f"heartbeat {rng.randrange(10**5)} ok"
    return "INFO", (f"Exported {rng.randrange(10000)} rows from {rng.choice(_TABLES)} "
                    f"to s3://exports/{rng.choice(_RESOURCES)}/{rng.randrange(10**8):x}.csv")


def setup() -> None:
    global LINES
    rng = random.Random(20240301)
    lines = []
    for i in range(4000):
        level, message = _message(rng)
        ts = (f"2024-03-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}"
              f".{rng.randrange(1000):03d}Z")
        lines.append(f"{ts} [{level}] {rng.choice(_SOURCES)}: {message}")
        if rng.random() < 0.01:
            lines.append("    at com.example.Worker.run(Worker.java:42)")
    LINES = lines


def workload() -> dict[str, object]:
    report = dedupe_lines(LINES, suppress=["heartbeat 0 ok"])
    return {
        "summary": report.summary(),
        "levels": report.level_counts(unique=True),
        "entries": [[e.key, e.count, e.record.timestamp, e.last_seen] for e in report.entries],
        "top": [e.key for e in report.most_common(25)],
    }
