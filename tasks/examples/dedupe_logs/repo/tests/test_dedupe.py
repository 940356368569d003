from logdedupe import LogRecord, dedupe_lines, deduplicate

LOG = """\
2024-03-01T12:00:00Z [INFO] api: GET /orders/17 returned 200 in 12ms
2024-03-01T12:00:01Z [INFO] api: GET /orders/18 returned 200 in 9ms
2024-03-01T12:00:02Z [DEBUG] cache: heartbeat 1
2024-03-01T12:00:03Z [ERROR] db: connection to 10.1.2.3:5432 refused
2024-03-01T12:00:04Z [INFO] api: GET /orders/19 returned 404 in 3ms
not a log line at all
2024-03-01T12:00:05Z [DEBUG] cache: heartbeat 2
2024-03-01T12:00:06Z [ERROR] db: connection to 10.1.2.4:5432 refused
2024-03-01T12:00:07Z [WARN] api: slow request GET /orders/20 (1500ms)
""".splitlines()


def test_deduplicate_keeps_first_occurrence_in_order() -> None:
    records = [
        LogRecord("t1", "INFO", "a", "x 1"),
        LogRecord("t2", "INFO", "b", "y"),
        LogRecord("t3", "INFO", "a", "x 2"),
        LogRecord("t4", "INFO", "b", "y"),
        LogRecord("t5", "INFO", "c", "z"),
    ]
    entries = deduplicate(records)
    assert [e.record.timestamp for e in entries] == ["t1", "t2", "t5"]
    assert [e.count for e in entries] == [2, 2, 1]
    assert [e.last_seen for e in entries] == ["t3", "t4", "t5"]


def test_deduplicate_with_custom_key() -> None:
    records = [LogRecord(f"t{i}", "INFO", src, "m") for i, src in enumerate("abab")]
    entries = deduplicate(records, key=lambda r: r.message)
    assert len(entries) == 1
    assert entries[0].count == 4
    assert entries[0].key == "m"


def test_deduplicate_empty() -> None:
    assert deduplicate([]) == []


def test_dedupe_lines_report() -> None:
    report = dedupe_lines(LOG)
    assert report.total == 8
    assert report.unparsable == 1
    assert [e.key for e in report.entries] == [
        "INFO|api|GET /orders/<num> returned <num> in <num>ms",
        "DEBUG|cache|heartbeat <num>",
        "ERROR|db|connection to <ip> refused",
        "WARNING|api|slow request GET /orders/<num> (<num>ms)",
    ]
    assert [e.count for e in report.entries] == [3, 2, 2, 1]
    assert report.duplicates == 4
    assert report.level_counts() == {
        "DEBUG": 2, "INFO": 3, "WARNING": 1, "ERROR": 2, "CRITICAL": 0,
    }
    assert report.level_counts(unique=True)["ERROR"] == 1


def test_dedupe_lines_suppress_and_min_level() -> None:
    report = dedupe_lines(LOG, suppress=["heartbeat 99"])
    assert report.suppressed == 2
    assert all("heartbeat" not in e.key for e in report.entries)

    report = dedupe_lines(LOG, min_level="warning")
    assert report.suppressed == 5
    assert [e.record.level for e in report.entries] == ["ERROR", "WARNING"]


def test_most_common_and_summary() -> None:
    report = dedupe_lines(LOG)
    top = report.most_common(2)
    assert [e.count for e in top] == [3, 2]
    assert top[1].record.source == "cache"  # tie broken by first appearance
    assert report.summary() == (
        "8 lines, 4 distinct, 4 duplicates, 0 suppressed, 1 unparsable"
        " (debug=2, info=3, warning=1, error=2)"
    )
