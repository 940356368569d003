"""The sandboxed runner, exercised with real subprocesses (no mocks)."""

from __future__ import annotations

import gc
import os
import sys
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from perfagent.tools import runner
from perfagent.tools.runner import Limits, RunnerError, RunResult, run, scrub_env
from perfagent.tools.runner.process import die_with_parent

PY = sys.executable
# Process-lifetime tests run both through the unshare wrapper (when available) and directly.
BOTH_PATHS = pytest.mark.parametrize("network", [False, True], ids=["no-network", "network"])


def _alive(pid: int) -> bool:
    """True while ``pid`` is a live process (a zombie awaiting its reaper counts as dead)."""
    try:
        os.kill(pid, 0)
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (ProcessLookupError, FileNotFoundError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _gone_soon(pid: int, within_s: float = 5.0) -> bool:
    deadline = time.monotonic() + within_s
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _result(**overrides: object) -> RunResult:
    fields: dict[str, object] = dict(
        argv=("x",),
        returncode=0,
        stdout="",
        stderr="",
        duration_s=1.0,
        timed_out=False,
        truncated=False,
        max_rss_kb=0,
        network_isolated=False,
    )
    fields.update(overrides)
    return RunResult(**fields)  # type: ignore[arg-type]


@pytest.fixture
def stray_pids() -> Iterator[list[int]]:
    """Pids a test expects to be dead; killed afterwards (by pid) if a test failed."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if _alive(pid):
            os.kill(pid, 9)


# -- basics --------------------------------------------------------------------------------------
def test_exit_codes_and_capture(tmp_path: Path) -> None:
    ok = run([PY, "-c", "import sys; print('out'); print('err', file=sys.stderr)"], cwd=tmp_path)
    assert (ok.returncode, ok.ok, ok.stdout, ok.stderr) == (0, True, "out\n", "err\n")
    assert not ok.timed_out and not ok.truncated and ok.duration_s > 0
    assert ok.argv == (PY, "-c", "import sys; print('out'); print('err', file=sys.stderr)")

    failed = run([PY, "-c", "raise SystemExit(3)"], cwd=tmp_path)
    assert failed.returncode == 3 and not failed.ok


def test_string_command_runs_through_bash(tmp_path: Path) -> None:
    result = run("echo $((1 + 2)) && pwd", cwd=tmp_path)
    assert result.argv[:2] == ("bash", "-c")
    assert result.stdout.split() == ["3", str(tmp_path)]


def test_non_utf8_output_is_replaced(tmp_path: Path) -> None:
    result = run([PY, "-c", "import sys; sys.stdout.buffer.write(b'a\\xffb')"], cwd=tmp_path)
    assert result.stdout == "a\ufffdb"


def test_stdin_is_fed_and_defaults_to_empty(tmp_path: Path) -> None:
    assert run(["cat"], cwd=tmp_path, stdin=b"hello").stdout == "hello"
    assert run(["cat"], cwd=tmp_path).stdout == ""
    # A command that never reads a large stdin must not block the writer.
    assert run(["true"], cwd=tmp_path, stdin=b"x" * 10_000_000).ok


def test_huge_output_is_truncated_without_deadlock(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "sys.stdout.write('first\\n' + 'x' * 30_000_000 + '\\nlast\\n')\n"
        "sys.stderr.write('y' * 30_000_000 + '\\nfinal error\\n')\n"
    )
    started = time.monotonic()
    result = run([PY, "-c", code], cwd=tmp_path, limits=Limits(output_bytes=10_000))
    assert time.monotonic() - started < 60
    assert result.ok and result.truncated
    # Head and tail are kept (the error usually comes last), the middle is dropped.
    assert result.stdout.startswith("first\n") and result.stdout.endswith("\nlast\n")
    assert len(result.stdout) < 10_200 and len(result.stderr) < 10_200
    assert "bytes of output dropped" in result.stdout
    assert result.summary() == "exit 0: final error"


def test_small_output_is_not_truncated(tmp_path: Path) -> None:
    result = run([PY, "-c", "print('z' * 999)"], cwd=tmp_path, limits=Limits(output_bytes=1000))
    assert not result.truncated and result.stdout == "z" * 999 + "\n"


@BOTH_PATHS
def test_child_is_reaped_without_resource_warning(network: bool, tmp_path: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run(["bash", "-c", "echo $$"], cwd=tmp_path, network=network)
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert not Path(f"/proc/{int(result.stdout)}").exists()  # no zombie left behind


# -- process groups and timeouts -----------------------------------------------------------------
@BOTH_PATHS
def test_timeout_kills_the_group_including_children(
    network: bool, tmp_path: Path, stray_pids: list[int]
) -> None:
    started = time.monotonic()
    result = run(
        "sleep 300 & echo $!; sleep 300", cwd=tmp_path, network=network, limits=Limits(timeout_s=1)
    )
    stray_pids.append(int(result.stdout))
    assert time.monotonic() - started < 10
    assert result.timed_out and not result.ok and result.returncode < 0
    assert result.summary().startswith("timed out after ")
    assert _gone_soon(stray_pids[0])


@BOTH_PATHS
def test_timeout_escalates_to_sigkill(network: bool, tmp_path: Path, stray_pids: list[int]) -> None:
    # Ignoring SIGTERM (inherited by the background child too) forces the SIGKILL step.
    script = "trap '' TERM; sleep 300 & echo $!; while :; do sleep 0.1; done"
    started = time.monotonic()
    result = run(script, cwd=tmp_path, network=network, limits=Limits(timeout_s=1))
    stray_pids.append(int(result.stdout))
    assert time.monotonic() - started < 10
    assert result.timed_out and result.returncode == -9
    assert _gone_soon(stray_pids[0])


@BOTH_PATHS
def test_background_leftover_is_killed_after_normal_exit(
    network: bool, tmp_path: Path, stray_pids: list[int]
) -> None:
    # Detached from our pipes, so only the group kill can end it.
    result = run("sleep 300 >/dev/null 2>&1 & echo $!", cwd=tmp_path, network=network)
    stray_pids.append(int(result.stdout))
    assert result.ok and not result.timed_out
    assert _gone_soon(stray_pids[0])


@BOTH_PATHS
def test_background_child_holding_the_pipe_does_not_block(
    network: bool, tmp_path: Path, stray_pids: list[int]
) -> None:
    started = time.monotonic()
    result = run("sleep 300 & echo $!", cwd=tmp_path, network=network)
    stray_pids.append(int(result.stdout))
    assert result.ok and time.monotonic() - started < 10
    assert _gone_soon(stray_pids[0])


def test_process_leaving_the_group_cannot_hang_the_runner(
    tmp_path: Path, stray_pids: list[int]
) -> None:
    # setsid escapes the group kill and keeps stdout open; the reader join gives up.
    started = time.monotonic()
    result = run("setsid sleep 60 & echo $!", cwd=tmp_path)
    stray_pids.append(int(result.stdout))  # the fixture kills it
    assert result.ok and time.monotonic() - started < 15


# -- limits --------------------------------------------------------------------------------------
def test_memory_limit_makes_a_big_allocation_fail(tmp_path: Path) -> None:
    code = "x = bytearray(1024 * 1024 * 1024)"
    limited = run([PY, "-c", code], cwd=tmp_path, limits=Limits(memory_mb=256))
    assert not limited.ok and "MemoryError" in limited.stderr
    assert limited.summary() == "exit 1: MemoryError"


def test_fsize_limit_caps_written_files(tmp_path: Path) -> None:
    code = "open('big.bin', 'wb').write(b'x' * 5 * 1024 * 1024)"
    result = run([PY, "-c", code], cwd=tmp_path, limits=Limits(fsize_mb=1))
    assert not result.ok  # EFBIG in Python; SIGXFSZ for programs that don't ignore it
    assert (tmp_path / "big.bin").stat().st_size <= 1024 * 1024

    killed = run(
        ["dd", "if=/dev/zero", "of=dd.bin", "bs=1M", "count=5"],
        cwd=tmp_path,
        limits=Limits(fsize_mb=1),
    )
    assert killed.returncode == -25
    assert killed.summary().startswith("killed by SIGXFSZ (file size limit)")


def test_core_dumps_are_disabled(tmp_path: Path) -> None:
    result = run(
        [PY, "-c", "import resource; print(resource.getrlimit(resource.RLIMIT_CORE))"], cwd=tmp_path
    )
    assert result.stdout.strip() == "(0, 0)"


@BOTH_PATHS
def test_max_rss_grows_with_allocation(network: bool, tmp_path: Path) -> None:
    # Linux carries the spawning process's peak RSS into a child's ru_maxrss across exec,
    # so the allocation must exceed our own peak to show.
    import resource

    ours_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    small = run([PY, "-c", "pass"], cwd=tmp_path, network=network)
    big = run(
        [PY, "-c", f"x = b'x' * ({ours_mb + 200} * 1024 * 1024)"],
        cwd=tmp_path,
        network=network,
        limits=Limits(memory_mb=ours_mb + 2048),
    )
    assert small.ok and big.ok
    assert small.max_rss_kb > 0
    assert big.max_rss_kb - small.max_rss_kb > 150 * 1024


def test_cpu_pinning(tmp_path: Path) -> None:
    cpu = max(os.sched_getaffinity(0))
    code = "import os; print(sorted(os.sched_getaffinity(0)))"
    assert run([PY, "-c", code], cwd=tmp_path, cpus={cpu}).stdout.strip() == f"[{cpu}]"
    with pytest.raises(RunnerError, match="cannot pin"):
        run(["true"], cwd=tmp_path, cpus={10_000})
    with pytest.raises(RunnerError, match="cannot pin"):
        run(["true"], cwd=tmp_path, cpus=[])


# -- environment ---------------------------------------------------------------------------------
def test_env_is_whitelisted_and_scrubbed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "GITHUB_TOKEN", "MY_SECRET", "UNLISTED_PARENT_VAR"):
        monkeypatch.setenv(name, "leaked")
    monkeypatch.setenv("LC_PERFAGENT_TEST", "kept")
    extra = {
        "OPENAI_API_KEY": "leaked",
        "GITHUB_TOKEN": "leaked",
        "MY_SECRET": "leaked",
        "AWS_REGION": "leaked",
        "STRIPE_PRIVATE_KEY": "leaked",
        "HARMLESS": "fine",
    }
    result = run(["env"], cwd=tmp_path, env=extra)
    child = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert "leaked" not in result.stdout
    assert child["HARMLESS"] == "fine" and child["LC_PERFAGENT_TEST"] == "kept"
    assert child["PATH"] == os.environ["PATH"]


def test_env_without_inheritance(tmp_path: Path) -> None:
    result = run(["/usr/bin/env"], cwd=tmp_path, env={"ONLY": "1"}, inherit_env=False)
    assert result.stdout == "ONLY=1\n"


def test_scrub_env_patterns() -> None:
    secret = [
        "OPENAI_API_KEY",
        "my_api_key",
        "AWS_SECRET_ACCESS_KEY",
        "ACCESS_KEY",
        "GH_HOST",
        "github_sha",
        "X_AUTH_TOKEN",
        "DB_PASSWORD",
        "PASSWD",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "AZURE_CLIENT_ID",
        "ANTHROPIC_BASE_URL",
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "NPM_TOKEN",
        "PYPI_URL",
        "TWINE_USERNAME",
        "SSH_AUTH_SOCK",
        "PRIVATE_KEY",
    ]
    harmless = [
        "PATH",
        "HOME",
        "PYTHONPATH",
        "SSH_CLIENT",
        "MONKEY",
        "KEYBOARD",
        "HOTKEY",
        "TOKENIZERS_PARALLELISM",
        "GHOST",
    ]
    assert scrub_env(dict.fromkeys(secret + harmless, "v")) == dict.fromkeys(harmless, "v")


# -- network -------------------------------------------------------------------------------------
CONNECT = """
import socket, time
server = socket.socket(); server.bind(('127.0.0.1', 0)); server.listen()
socket.create_connection(server.getsockname(), timeout=5).close()
print('loopback ok')
started = time.monotonic()
try:
    socket.create_connection(('8.8.8.8', 53), timeout=10).close()
    print('internet reachable')
except OSError as exc:
    print('internet blocked', exc.errno, round(time.monotonic() - started, 1))
print(open('/proc/net/dev').read())
"""


@pytest.mark.skipif(not runner.network_isolation_available(), reason="no network isolation")
def test_network_isolation(tmp_path: Path) -> None:
    result = run([PY, "-c", CONNECT], cwd=tmp_path)
    assert result.ok, result.stderr
    assert result.network_isolated
    lines = result.stdout.splitlines()
    assert lines[0] == "loopback ok"  # lo is brought up inside the namespace
    assert lines[1].startswith("internet blocked")
    assert float(lines[1].split()[-1]) < 5  # fails immediately rather than timing out
    interfaces = {line.split(":")[0].strip() for line in lines[2:] if ":" in line}
    assert interfaces == {"lo"}


def test_network_true_never_isolates(tmp_path: Path) -> None:
    result = run(["true"], cwd=tmp_path, network=True)
    assert result.ok and not result.network_isolated


def test_isolated_command_keeps_its_pid_so_group_kill_and_wait4_apply(tmp_path: Path) -> None:
    # The unshare/sh wrappers exec the command, so $$ is still the process we reap.
    result = run(["bash", "-c", "echo $$; ps -o pgid= -p $$"], cwd=tmp_path)
    pid, pgid = (int(x) for x in result.stdout.split())
    assert pid == pgid


# -- errors and summaries ------------------------------------------------------------------------
def test_missing_cwd(tmp_path: Path) -> None:
    with pytest.raises(RunnerError, match=r"working directory does not exist: .*nowhere"):
        run(["true"], cwd=tmp_path / "nowhere")


def test_missing_executable(tmp_path: Path) -> None:
    with pytest.raises(RunnerError, match=r"executable not found.*no-such-program-xyz"):
        run(["no-such-program-xyz", "--flag"], cwd=tmp_path)
    with pytest.raises(RunnerError, match=r"\./missing\.sh"):
        run(["./missing.sh"], cwd=tmp_path)
    # The check uses the child's PATH, not ours.
    with pytest.raises(RunnerError, match="executable not found"):
        run(["python3"], cwd=tmp_path, env={"PATH": str(tmp_path)})


def test_relative_executable_resolves_against_cwd(tmp_path: Path) -> None:
    script = tmp_path / "hello.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o755)
    assert run(["./hello.sh"], cwd=tmp_path).stdout == "hi\n"


def test_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(RunnerError) as info:
        run(["nope\nnope"], cwd=tmp_path)
    assert "\n" not in str(info.value)


def test_summary_from_real_runs(tmp_path: Path) -> None:
    failed = run("echo progress; echo 'ValueError: bad input' >&2; echo >&2; exit 2", cwd=tmp_path)
    assert failed.summary() == "exit 2: ValueError: bad input"
    only_stdout = run("echo something went wrong; exit 1", cwd=tmp_path)
    assert only_stdout.summary() == "exit 1: something went wrong"
    # pytest: its exception line, not the tally that ends the output.
    collection = (
        "echo \"E   ModuleNotFoundError: No module named 'msgspec'\"; echo '=== warnings ==='; "
        "echo 'ERROR tests/test_x.py'; echo '1 warning, 1 error in 0.07s'; exit 1"
    )
    assert run(collection, cwd=tmp_path).summary() == (
        "exit 1: E   ModuleNotFoundError: No module named 'msgspec'"
    )
    killed = run("kill -9 $$", cwd=tmp_path)
    assert killed.returncode == -9
    assert killed.summary() == "killed by SIGKILL (memory limit?)"


def test_summary_formats() -> None:
    assert _result(returncode=1).summary() == "exit 1"
    assert _result(returncode=1, stderr="x" * 500).summary() == "exit 1: " + "x" * 197 + "..."
    assert _result(returncode=-9, timed_out=True, duration_s=5.01).summary() == (
        "timed out after 5.0 s"
    )
    assert _result(returncode=-11, stderr="Fatal Python error\n").summary() == (
        "killed by SIGSEGV: Fatal Python error"
    )
    assert _result(returncode=0).ok and not _result(returncode=0, timed_out=True).ok


def test_invalid_limits_are_rejected() -> None:
    with pytest.raises(ValueError):
        Limits(timeout_s=0)
    with pytest.raises(ValueError):
        Limits(memory_mb=0)


def test_waiting_without_pidfd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stray_pids: list[int]
) -> None:
    # Kernels before 5.3 have no pidfd_open; the polling fallback must behave the same.
    monkeypatch.delattr(os, "pidfd_open")
    assert run("echo hi", cwd=tmp_path).stdout == "hi\n"
    result = run("sleep 300 & echo $!; sleep 300", cwd=tmp_path, limits=Limits(timeout_s=0.5))
    stray_pids.append(int(result.stdout))
    assert result.timed_out and _gone_soon(stray_pids[0])


def test_concurrent_runs_from_threads(tmp_path: Path) -> None:
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: run(["echo", str(i)], cwd=tmp_path), range(40)))
    assert [r.stdout for r in results] == [f"{i}\n" for i in range(40)]


@pytest.mark.skipif(not die_with_parent(), reason="setpriv --pdeathsig unavailable")
def test_a_command_dies_with_a_killed_perfagent(tmp_path: Path) -> None:
    import signal
    import subprocess
    import uuid

    marker = f"orphan-{uuid.uuid4().hex}"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from tools import runner; "
            f"runner.run(['sleep', '300'], cwd='.', env={{'MARKER': '{marker}'}})",
        ],
        cwd=Path(__file__).resolve().parents[1],
        start_new_session=True,
    )

    def sleepers() -> list[int]:
        found = []
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and marker.encode() in (proc / "environ").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                continue
        return found

    deadline = time.monotonic() + 30
    while not sleepers():
        assert time.monotonic() < deadline and parent.poll() is None, "the command never started"
        time.sleep(0.05)
    os.killpg(parent.pid, signal.SIGKILL)  # a crash: no finally clause runs
    parent.wait(10)
    deadline = time.monotonic() + 10
    while sleepers():
        assert time.monotonic() < deadline, "the command outlived perfagent"
        time.sleep(0.05)
