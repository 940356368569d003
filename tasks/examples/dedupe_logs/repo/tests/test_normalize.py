from logdedupe import LogRecord, fingerprint, normalize_message


def test_numbers_and_ips() -> None:
    assert (
        normalize_message("Request 1234 from 10.0.0.5:8080 took 35.5ms")
        == "Request <num> from <ip> took <num>ms"
    )


def test_uuids_and_hex_ids() -> None:
    message = (
        "job 3f2b8c1e-9d4a-4c55-a1b2-0123456789ab failed at 0xDEADBEEF, trace 9f86d081884c7d65"
    )
    assert normalize_message(message) == "job <uuid> failed at <hex>, trace <hex>"


def test_words_with_digits_are_kept() -> None:
    assert normalize_message("user_42 called /api/v2/items  twice") == (
        "user_42 called /api/v2/items twice"
    )


def test_fingerprint_includes_level_and_source() -> None:
    a = LogRecord("t1", "INFO", "api", "took 5ms")
    b = LogRecord("t2", "INFO", "api", "took 7ms")
    c = LogRecord("t3", "ERROR", "api", "took 7ms")
    assert fingerprint(a) == fingerprint(b) == "INFO|api|took <num>ms"
    assert fingerprint(c) != fingerprint(b)
