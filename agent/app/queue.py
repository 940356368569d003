"""A persistent job queue in SQLite, with the App's other small records (webhook deliveries
and events seen, the per-repository cooldown, installations).

A job goes ``queued`` → ``running`` → ``done`` | ``failed``. ``claim()`` takes the oldest
queued job atomically (``BEGIN IMMEDIATE``), so several workers, threads or processes can
share one file. ``recover()`` (at start-up) puts jobs left ``running`` by a crash back in the
queue; finished jobs are never handed out again. ``note()`` records what a running attempt
already did on GitHub (its check run), so a retry continues it instead of doing it twice.
``enqueue()`` drops a job identical to one still pending (same ``key``: repository, target
and trigger).

``first_delivery()`` keeps, for good, every delivery id and every signed event id (a
comment's id, a label event's pull request + label + time) acted on: a captured webhook
replayed under a new delivery id is refused. ``start_run()`` is the cooldown: one statement
both checks and records a repository's last run, so two workers cannot both pass it, and a
run counts from its start whatever its end.

Every call opens its own connection: simple, thread-safe, and nothing held across a crash.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

JobState = Literal["queued", "running", "done", "failed"]
PENDING: tuple[JobState, ...] = ("queued", "running")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    result TEXT,
    progress TEXT NOT NULL DEFAULT '{}',
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, id);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_pending_key ON jobs (key)
    WHERE state IN ('queued', 'running');
CREATE TABLE IF NOT EXISTS deliveries (id TEXT PRIMARY KEY, event TEXT, received REAL);
CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, delivery TEXT NOT NULL, received REAL);
CREATE TABLE IF NOT EXISTS cooldowns (
    repo TEXT PRIMARY KEY, job_id INTEGER NOT NULL, started REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS installations (
    id INTEGER PRIMARY KEY, account TEXT NOT NULL, updated REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Job:
    id: int
    key: str
    kind: str
    payload: dict[str, Any]
    state: JobState
    attempts: int
    result: dict[str, Any] | None
    progress: dict[str, Any]  # what earlier attempts did (``note``)
    created: float
    updated: float


class JobQueue:
    """The queue and records in the SQLite file ``path`` (created with its tables)."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            columns = {row["name"] for row in db.execute("PRAGMA table_info(jobs)")}
            if "progress" not in columns:  # a queue file from before ``note``
                db.execute("ALTER TABLE jobs ADD COLUMN progress TEXT NOT NULL DEFAULT '{}'")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            yield db
        finally:
            db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # -- jobs ----------------------------------------------------------------------------------
    def enqueue(self, kind: str, key: str, payload: dict[str, Any]) -> tuple[Job, bool]:
        """Queue a job; returns it and ``True``, or the identical pending job and ``False``."""
        now = self._clock()
        with self._transaction() as db:
            row = db.execute(
                "SELECT * FROM jobs WHERE key = ? AND state IN ('queued', 'running')", (key,)
            ).fetchone()
            if row is not None:
                return _job(row), False
            cursor = db.execute(
                "INSERT INTO jobs (key, kind, payload, state, created, updated)"
                " VALUES (?, ?, ?, 'queued', ?, ?)",
                (key, kind, json.dumps(payload, sort_keys=True), now, now),
            )
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (cursor.lastrowid,)).fetchone()
            return _job(row), True

    def claim(self) -> Job | None:
        """The oldest queued job, now ``running`` with one more attempt; ``None`` if none."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE jobs SET state = 'running', attempts = attempts + 1, updated = ?"
                " WHERE id = ?",
                (self._clock(), row["id"]),
            )
            return _job(db.execute("SELECT * FROM jobs WHERE id = ?", (row["id"],)).fetchone())

    def finish(self, job_id: int, state: Literal["done", "failed"], result: dict[str, Any]) -> None:
        """Record a running job's end; a job that is not running is left alone."""
        with self._transaction() as db:
            db.execute(
                "UPDATE jobs SET state = ?, result = ?, updated = ?"
                " WHERE id = ? AND state = 'running'",
                (state, json.dumps(result, sort_keys=True), self._clock(), job_id),
            )

    def note(self, job_id: int, facts: dict[str, Any]) -> None:
        """Merge ``facts`` into a job's progress record (kept across attempts)."""
        with self._transaction() as db:
            row = db.execute("SELECT progress FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                return
            progress = {**json.loads(row["progress"]), **facts}
            db.execute(
                "UPDATE jobs SET progress = ? WHERE id = ?",
                (json.dumps(progress, sort_keys=True), job_id),
            )

    def recover(self, *, max_attempts: int = 3) -> int:
        """Put jobs left ``running`` (a crash) back in the queue, or fail those that already
        had ``max_attempts``; returns how many were re-queued."""
        now = self._clock()
        with self._transaction() as db:
            db.execute(
                "UPDATE jobs SET state = 'failed', result = ?, updated = ?"
                " WHERE state = 'running' AND attempts >= ?",
                (json.dumps({"error": "interrupted too many times"}), now, max_attempts),
            )
            cursor = db.execute(
                "UPDATE jobs SET state = 'queued', updated = ? WHERE state = 'running'", (now,)
            )
            return cursor.rowcount

    def get(self, job_id: int) -> Job | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else _job(row)

    def jobs(self, state: JobState | None = None) -> list[Job]:
        with self._connect() as db:
            if state is None:
                rows = db.execute("SELECT * FROM jobs ORDER BY id").fetchall()
            else:
                rows = db.execute(
                    "SELECT * FROM jobs WHERE state = ? ORDER BY id", (state,)
                ).fetchall()
        return [_job(row) for row in rows]

    # -- cooldown ------------------------------------------------------------------------------
    def start_run(self, repo: str, job_id: int, cooldown_s: float) -> float:
        """Record that job ``job_id`` runs on ``repo`` now, unless another job started one
        less than ``cooldown_s`` ago: then nothing is recorded and the seconds left are
        returned (0.0: go). A retry of the same job passes its own record."""
        now = self._clock()
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO cooldowns (repo, job_id, started) VALUES (?, ?, ?)"
                " ON CONFLICT (repo) DO UPDATE SET job_id = excluded.job_id,"
                " started = excluded.started"
                " WHERE cooldowns.job_id = excluded.job_id OR cooldowns.started <= ?",
                (repo, job_id, now, now - cooldown_s),
            )
            if cursor.rowcount == 1:
                return 0.0
            row = db.execute("SELECT started FROM cooldowns WHERE repo = ?", (repo,)).fetchone()
            return max(float(row["started"]) + cooldown_s - now, 0.001)

    # -- deliveries, events and installations -------------------------------------------------
    def first_delivery(
        self, delivery_id: str, event: str, event_id: str | None = None
    ) -> Literal["new", "redelivery", "replay"]:
        """Record a webhook delivery and the signed event it carries (both kept for good):
        ``redelivery`` if the delivery id was seen, ``replay`` if the event was (a captured
        delivery sent again under a new id); then nothing is recorded."""
        now = self._clock()
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO deliveries (id, event, received) VALUES (?, ?, ?)",
                (delivery_id, event, now),
            )
            if cursor.rowcount != 1:
                return "redelivery"
            if event_id is not None:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO events (id, delivery, received) VALUES (?, ?, ?)",
                    (event_id, delivery_id, now),
                )
                if cursor.rowcount != 1:
                    db.execute("DELETE FROM deliveries WHERE id = ?", (delivery_id,))
                    return "replay"
            return "new"

    def record_installation(self, installation_id: int, account: str) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO installations (id, account, updated) VALUES (?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET account = excluded.account,"
                " updated = excluded.updated",
                (installation_id, account, self._clock()),
            )

    def remove_installation(self, installation_id: int) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM installations WHERE id = ?", (installation_id,))

    def installations(self) -> dict[int, str]:
        with self._connect() as db:
            rows = db.execute("SELECT id, account FROM installations ORDER BY id").fetchall()
        return {int(row["id"]): str(row["account"]) for row in rows}


def _job(row: sqlite3.Row) -> Job:
    return Job(
        id=int(row["id"]),
        key=str(row["key"]),
        kind=str(row["kind"]),
        payload=json.loads(row["payload"]),
        state=row["state"],
        attempts=int(row["attempts"]),
        result=None if row["result"] is None else json.loads(row["result"]),
        progress=json.loads(row["progress"]),
        created=float(row["created"]),
        updated=float(row["updated"]),
    )
