"""The App's SQLite job queue: states, atomic claims, de-duplication, crash recovery, the
delivery and event records, and the atomic per-repository cooldown."""

from __future__ import annotations

import threading
from pathlib import Path

from perfagent.agent.app.queue import JobQueue


def test_a_job_goes_queued_running_done_with_its_result(tmp_path: Path) -> None:
    queue = JobQueue(tmp_path / "q.sqlite", clock=iter(range(100)).__next__)
    job, created = queue.enqueue("optimize", "octo/widgets#1", {"repo": "octo/widgets"})
    assert created
    assert (job.state, job.attempts, job.created) == ("queued", 0, 0.0)
    claimed = queue.claim()
    assert claimed is not None
    assert (claimed.id, claimed.state, claimed.attempts) == (job.id, "running", 1)
    assert queue.claim() is None
    queue.finish(job.id, "done", {"pull": 5})
    done = queue.get(job.id)
    assert done is not None
    assert (done.state, done.result, done.payload) == (
        "done",
        {"pull": 5},
        {"repo": "octo/widgets"},
    )
    assert done.updated > done.created


def test_identical_pending_jobs_are_one_job_but_a_finished_one_can_be_asked_again(
    tmp_path: Path,
) -> None:
    queue = JobQueue(tmp_path / "q.sqlite")
    first, _ = queue.enqueue("optimize", "k", {"n": 1})
    again, created = queue.enqueue("optimize", "k", {"n": 2})
    assert (again.id, created) == (first.id, False)
    assert queue.claim() is not None
    assert queue.enqueue("optimize", "k", {})[1] is False  # still pending while running
    queue.finish(first.id, "failed", {"error": "x"})
    later, created = queue.enqueue("optimize", "k", {})
    assert created and later.id != first.id
    assert queue.enqueue("optimize", "other", {})[1]


def test_a_job_left_running_by_a_crash_is_requeued_and_completes_once(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    crashed = JobQueue(path)
    job, _ = crashed.enqueue("optimize", "k", {})
    finished, _ = crashed.enqueue("optimize", "k2", {})
    assert crashed.claim() is not None  # the worker dies while running `job`
    assert crashed.claim() is not None
    crashed.finish(finished.id, "done", {})

    restarted = JobQueue(path)
    assert restarted.recover() == 1
    again = restarted.claim()
    assert again is not None
    assert (again.id, again.attempts) == (job.id, 2)
    restarted.finish(job.id, "done", {"ok": True})
    assert restarted.claim() is None
    assert restarted.recover() == 0  # finished jobs are never repeated
    assert [(j.id, j.state) for j in restarted.jobs()] == [(job.id, "done"), (finished.id, "done")]


def test_a_job_interrupted_too_often_fails_instead_of_looping(tmp_path: Path) -> None:
    queue = JobQueue(tmp_path / "q.sqlite")
    job, _ = queue.enqueue("optimize", "k", {})
    for _ in range(3):
        assert queue.claim() is not None
        queue.recover(max_attempts=3)
    final = queue.get(job.id)
    assert final is not None
    assert (final.state, final.attempts) == ("failed", 3)
    assert final.result == {"error": "interrupted too many times"}


def test_concurrent_claims_hand_out_each_job_once(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    queue = JobQueue(path)
    ids = {queue.enqueue("optimize", f"k{i}", {})[0].id for i in range(40)}
    claimed: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        mine = JobQueue(path)
        while (job := mine.claim()) is not None:
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(ids)


def test_deliveries_and_installations(tmp_path: Path) -> None:
    queue = JobQueue(tmp_path / "q.sqlite")
    assert queue.first_delivery("d1", "ping") == "new"
    assert queue.first_delivery("d1", "ping") == "redelivery"
    assert queue.first_delivery("d2", "issue_comment", "issue_comment:7") == "new"
    assert queue.first_delivery("d3", "issue_comment", "issue_comment:7") == "replay"
    assert JobQueue(tmp_path / "q.sqlite").first_delivery("d4", "x", "issue_comment:7") == "replay"
    assert queue.first_delivery("d3", "issue_comment", "issue_comment:8") == "new"
    queue.record_installation(3, "octo")
    queue.record_installation(3, "octo-renamed")
    assert queue.installations() == {3: "octo-renamed"}
    queue.remove_installation(3)
    assert queue.installations() == {}


def test_progress_noted_by_an_attempt_survives_a_crash_for_the_retry(tmp_path: Path) -> None:
    queue = JobQueue(tmp_path / "q.sqlite")
    job, _ = queue.enqueue("optimize", "k", {})
    assert job.progress == {}
    assert queue.claim() is not None
    queue.note(job.id, {"check_run": 7})
    queue.note(job.id, {"stage": "measuring"})
    # The process dies here; the next start recovers the job with what the attempt did.
    restarted = JobQueue(tmp_path / "q.sqlite")
    assert restarted.recover() == 1
    retry = restarted.claim()
    assert retry is not None
    assert (retry.attempts, retry.progress) == (2, {"check_run": 7, "stage": "measuring"})


def test_a_queue_file_from_before_progress_notes_is_upgraded(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL,"
        " kind TEXT NOT NULL, payload TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER"
        " NOT NULL DEFAULT 0, result TEXT, created REAL NOT NULL, updated REAL NOT NULL);"
        "INSERT INTO jobs (key, kind, payload, state, created, updated)"
        " VALUES ('k', 'optimize', '{}', 'queued', 0, 0);"
    )
    db.commit()
    db.close()
    queue = JobQueue(path)
    job = queue.claim()
    assert job is not None and job.progress == {}
    queue.note(job.id, {"check_run": 1})
    upgraded = queue.get(job.id)
    assert upgraded is not None and upgraded.progress == {"check_run": 1}


def test_the_cooldown_is_checked_and_recorded_at_once_for_every_run(tmp_path: Path) -> None:
    now = [1000.0]
    queue = JobQueue(tmp_path / "q.sqlite", clock=lambda: now[0])
    assert queue.start_run("octo/a", 1, 3600.0) == 0.0
    assert queue.start_run("octo/a", 1, 3600.0) == 0.0  # a retry of the same job
    assert queue.start_run("octo/a", 2, 3600.0) == 3600.0
    assert queue.start_run("octo/b", 3, 3600.0) == 0.0  # per repository
    now[0] += 3000.0
    assert queue.start_run("octo/a", 4, 3600.0) == 600.0
    now[0] += 600.0
    assert queue.start_run("octo/a", 4, 3600.0) == 0.0
    assert queue.start_run("octo/a", 5, 0.0) == 0.0  # no cooldown set


def test_concurrent_workers_start_one_run_per_repository(tmp_path: Path) -> None:
    """No check-then-act: of many workers (own connections) asking at once, one runs."""
    path = tmp_path / "q.sqlite"
    JobQueue(path)
    start = threading.Barrier(8)
    granted: list[int] = []
    lock = threading.Lock()

    def work(job_id: int) -> None:
        mine = JobQueue(path)
        start.wait()
        if mine.start_run("octo/widgets", job_id, 3600.0) == 0.0:
            with lock:
                granted.append(job_id)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(granted) == 1
