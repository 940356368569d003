import pytest

from logdedupe import LogParseError, LogRecord, parse_line, parse_lines


def test_parse_bracketed_level() -> None:
    record = parse_line("2024-03-01T12:00:01.123Z [INFO] api.worker: Request 1234 took 35ms")
    assert record == LogRecord(
        timestamp="2024-03-01T12:00:01.123Z",
        level="INFO",
        source="api.worker",
        message="Request 1234 took 35ms",
    )


def test_parse_level_aliases_and_space_timestamp() -> None:
    record = parse_line("2024-03-01 12:00:01,500 warn db.pool: pool exhausted (size=10)  ")
    assert record.level == "WARNING"
    assert record.timestamp == "2024-03-01 12:00:01,500"
    assert record.message == "pool exhausted (size=10)"
    assert parse_line("2024-03-01 12:00:02 FATAL main: bye").level == "CRITICAL"


def test_parse_rejects_garbage_and_unknown_levels() -> None:
    with pytest.raises(LogParseError):
        parse_line("Traceback (most recent call last):")
    with pytest.raises(LogParseError, match="unknown log level"):
        parse_line("2024-03-01 12:00:02 NOTICE main: hello")


def test_parse_lines_skips_blank_and_bad_lines_unless_strict() -> None:
    lines = [
        "2024-03-01 12:00:00 INFO a: one",
        "",
        "   ",
        "  File \"x.py\", line 3",
        "2024-03-01 12:00:01 ERROR b: two",
    ]
    assert [r.message for r in parse_lines(lines)] == ["one", "two"]
    with pytest.raises(LogParseError):
        list(parse_lines(lines, strict=True))


def test_parse_empty_message_and_trailing_newline() -> None:
    assert parse_line("2024-03-01 12:00:02 INFO main:").message == ""
    assert parse_line("2024-03-01 12:00:02 INFO main:   \n").message == ""
    assert parse_line("2024-03-01 12:00:02 INFO main: done \r\n").message == "done"
