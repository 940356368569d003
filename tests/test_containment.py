"""Adversarial tests: code nobody reviewed (a repository, a model's edit) tries what an
attacker would, through perfagent's real paths (setup, workloads, the guard, the lab).

Each test is one hole of issue 14. The processes holding secrets are real perfagent
processes started with those secrets in their initial environment, as a user would.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from perfagent.tools import runner
from perfagent.tools.bench.clock_checks import wall_clock_error
from perfagent.tools.bench.session import SessionConfig
from perfagent.tools.guard import check_candidate
from perfagent.tools.lab import MeasureOptions, measure
from perfagent.tools.taskspec import load_task
from tests.conftest import SLOW_MODULE, TaskFactory, unified_diff

QUICK = SessionConfig(min_runs=5, max_runs=12, max_time_s=90, seed=0)
SENTINEL = f"sentinel-{uuid.uuid4().hex}"

# Runs the baseline check (setup, build, tests, one run of each workload) in a fresh
# perfagent process whose environment holds the secrets, at the strictest isolation level
# this version of perfagent knows.
_BASELINE = """
import contextlib, sys
from perfagent.tools.lab.baseline import check_baseline
from perfagent.tools.taskspec import load_task
try:
    from perfagent.tools.runner import use_isolation
    level = use_isolation("required")
except ImportError:
    level = contextlib.nullcontext()
with level:
    check_baseline(load_task(sys.argv[1]))
print("BASELINE OK")
"""


def _baseline(task_file: Path, **secrets: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **secrets}
    return subprocess.run(
        [sys.executable, "-c", _BASELINE, str(task_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _workload(body: str) -> str:
    """A python workload whose ``workload()`` runs ``body`` and then the project's code."""
    return "import calc, os, sys, time\n\ndef workload():\n" + textwrap.indent(
        textwrap.dedent(body) + "return calc.total(50)\n", "    "
    )


# -- 1. secrets through /proc --------------------------------------------------------------------
def test_a_workload_cannot_read_perfagents_environment(make_task: TaskFactory) -> None:
    probe = f"""
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                data = open(f"/proc/{{pid}}/environ", "rb").read()
            except OSError:
                continue
            if b"{SENTINEL}" in data:
                raise RuntimeError("LEAKED a secret from pid " + pid)
    """
    task_file = make_task(workload_src=_workload(probe))
    done = _baseline(
        task_file,
        OPENAI_API_KEY=SENTINEL,
        GITHUB_TOKEN=SENTINEL,
        PERFAGENT_APP_WEBHOOK_SECRET=SENTINEL,
    )
    assert "LEAKED" not in done.stderr
    assert done.returncode == 0, done.stderr[-2000:]


# -- 2. no filesystem isolation ----------------------------------------------------------------
def test_a_workload_writes_only_its_tree_and_a_private_tmp(
    make_task: TaskFactory, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    attack = f"""
    for target in ({str(outside / "pwned")!r}, {str(Path.home() / f".pwned-{SENTINEL}")!r}):
        try:
            open(target, "w").write("x")
        except OSError:
            pass
    open("written-in-tree", "w").write("fine")
    open("/tmp/written-in-tmp", "w").write("fine")
    git = open(".git").read() if os.path.isfile(".git") else ""
    """
    task_file = make_task(workload_src=_workload(attack))
    done = _baseline(task_file)
    in_home = Path.home() / f".pwned-{SENTINEL}"
    escaped = [p for p in (outside / "pwned", in_home) if p.exists()]
    in_home.unlink(missing_ok=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert escaped == []


def test_a_workload_cannot_read_the_app_key(make_task: TaskFactory, tmp_path: Path) -> None:
    key = tmp_path / "keys" / "app.pem"
    key.parent.mkdir()
    key.write_text(f"-----BEGIN RSA PRIVATE KEY----- {SENTINEL}\n")
    attack = f"""
    try:
        stolen = open({str(key)!r}).read()
    except OSError:
        stolen = ""
    if {SENTINEL!r} in stolen:
        raise RuntimeError("LEAKED the App key")
    """
    task_file = make_task(workload_src=_workload(attack))
    done = _baseline(task_file)
    assert "LEAKED" not in done.stderr
    assert done.returncode == 0, done.stderr[-2000:]


# -- 4. processes outlive the run ----------------------------------------------------------------
def _processes_with(marker: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in cmdline:
                found.append(int(pid))
    return found


@pytest.fixture
def marker() -> Iterator[str]:
    """A unique string in a daemon's command line; any survivor is killed afterwards."""
    text = f"perfagent-daemon-{uuid.uuid4().hex}"
    yield text
    for pid in _processes_with(text):
        os.kill(pid, signal.SIGKILL)


def test_a_daemon_started_by_the_workload_dies_with_the_run(
    make_task: TaskFactory, marker: str
) -> None:
    setup = f"""
import calc, os, sys, time

_started = False

def setup():  # called before every timed call: start one daemon, on the first
    global _started
    if _started:
        return
    _started = True
    if os.fork() == 0:  # double fork + setsid: the classic daemon
        os.setsid()
        if os.fork() == 0:
            sleeper = [sys.executable, "-c", "import time; time.sleep(120)", {marker!r}]
            os.execv(sys.executable, sleeper)
        os._exit(0)
    os.wait()

def workload():
    return calc.total(50)
"""
    task_file = make_task(workload_src=setup)
    done = _baseline(task_file)
    assert done.returncode == 0, done.stderr[-2000:]
    assert _processes_with(marker) == []


def test_a_fork_bomb_is_bounded(make_task: TaskFactory) -> None:
    bomb = """
    children = []
    try:
        for _ in range(1500):
            pid = os.fork()
            if pid == 0:
                time.sleep(3)
                os._exit(0)
            children.append(pid)
    except OSError:
        pass
    for pid in children:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    if len(children) >= 1500:
        raise RuntimeError(f"UNBOUNDED: {len(children)} processes")
    """
    task_file = make_task(
        workload_src=_workload(bomb),
        workload={"kind": "python", "file": "workload.py", "repeat": 1},
    )
    done = _baseline(task_file)
    assert "UNBOUNDED" not in done.stderr
    assert done.returncode == 0, done.stderr[-2000:]


# -- 5. network in setup only when the task allows it ----------------------------------------------
@pytest.fixture
def listening_port() -> Iterator[int]:
    """A TCP port on the host's loopback that accepts connections."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield server.getsockname()[1]


@pytest.mark.parametrize("allowed", [False, True], ids=["not-allowed", "allowed"])
def test_setup_reaches_the_network_only_when_the_task_allows_it(
    make_task: TaskFactory, listening_port: int, allowed: bool
) -> None:
    connect = (
        f"python -c \"import socket; socket.create_connection(('127.0.0.1', {listening_port}),"
        ' timeout=3)"'
    )
    extra: dict[str, object] = {"setup_network": True} if allowed else {}
    task_file = make_task(setup=[connect], **extra)
    done = _baseline(task_file)
    if allowed:
        assert done.returncode == 0, done.stderr[-2000:]
    else:
        assert done.returncode != 0
        assert "setup command" in done.stderr


# -- 3. a candidate fakes its own timing -----------------------------------------------------------
_CLOCK_PATCH = """
import time
_real = time.perf_counter_ns
_start = _real()

def _slow_clock():
    return _start + (_real() - _start) // 3

time.perf_counter_ns = _slow_clock
"""


def _new_file(path: str, text: str) -> str:
    """A git patch that creates ``path``."""
    lines = text.splitlines()
    body = "".join(f"+{line}\n" for line in lines)
    return (
        f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n"
        f"@@ -0,0 +1,{len(lines)} @@\n{body}"
    )


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("sitecustomize.py", _CLOCK_PATCH),
        ("usercustomize.py", _CLOCK_PATCH),
        ("zz_clock.pth", "import sitecustomize\n"),
        ("time.py", "from _time_impl import *\n"),
        ("src/encodings/__init__.py", _CLOCK_PATCH),
        ("_perfagent_pytest.py", _CLOCK_PATCH),
    ],
)
def test_the_guard_rejects_code_that_runs_before_the_clock(
    tmp_path: Path, path: str, text: str
) -> None:
    (tmp_path / "calc.py").write_text(SLOW_MODULE)
    result = check_candidate(tmp_path, _new_file(path, text), protected=[])
    assert len(result.rejected) == 1
    assert any(word in result.rejected[0] for word in ("start-up", "shadows"))


def test_the_guard_rejects_a_changed_sitecustomize(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text("import os\n")
    diff = unified_diff("sitecustomize.py", "import os\n", "import os\n" + _CLOCK_PATCH)
    result = check_candidate(tmp_path, diff, protected=[])
    assert len(result.rejected) == 1 and "start-up" in result.rejected[0]


def test_a_clock_patched_out_of_the_guards_sight_is_caught(make_task: TaskFactory) -> None:
    """The candidate's module imports a helper that slows every clock it can reach (the
    ``time`` module and the driver's own copy): the guard sees an ordinary module, the
    reported calls shrink threefold, and only the wall time tells the truth."""
    heavy = SLOW_MODULE
    helper = _CLOCK_PATCH + textwrap.dedent(
        """
        import sys
        _driver = sys.modules.get("__main__")
        _driver_clock = getattr(_driver, "time", None)
        if _driver_clock is not None and _driver_clock is not time:
            _driver_clock.perf_counter_ns = _slow_clock
        if callable(getattr(_driver, "_now", None)):  # the driver's bound copy, too
            _driver._now = _slow_clock
        """
    )
    workload = "import calc\n\ndef workload():\n    return calc.total(9000)\n"
    task_file = make_task(
        module=heavy,
        workload_src=workload,
        expert=None,
        workload={"kind": "python", "file": "workload.py", "repeat": 3},
    )
    patch = _new_file("fastclock.py", helper) + unified_diff(
        "calc.py", heavy, "import fastclock  # noqa: F401\n" + heavy
    )
    guard = check_candidate(task_file.parent / "proj", patch, protected=[])
    assert guard.rejected == []  # out of the guard's sight
    report = measure(
        load_task(task_file), MeasureOptions(candidate_patch=patch, session=QUICK, hidden=False)
    )
    variant = report.workloads[0].variants["candidate"]
    assert report.equivalent is False
    assert "wall clock" in variant.equivalence_detail


# -- 6. equivalence on truncated output --------------------------------------------------------
def test_a_changed_line_in_the_middle_of_a_large_output_is_detected(
    make_task: TaskFactory,
) -> None:
    printer = (
        "def dump():\n    for i in range(200_000):\n        print(f'line {i:08d} ' + 'x' * 10)\n"
    )
    changed = printer.replace("'x' * 10", "('CHANGED!!!' if i == 100_000 else 'x' * 10)")
    command = "python -c 'import calc; calc.dump()'"
    task_file = make_task(
        module=printer,
        expert=None,
        tests="def test_nothing():\n    pass\n",
        workload={"kind": "command", "command": command},
    )
    report = measure(
        load_task(task_file),
        MeasureOptions(candidate_patch=unified_diff("calc.py", printer, changed), session=QUICK),
    )
    assert report.equivalent is False
    assert report.workloads[0].variants["candidate"].equivalence_detail == (
        "stdout differs from base's at line 100001: expected 'line 00100000 xxxxxxxxxx', "
        "got 'line 00100000 CHANGED!!!'"
    )


# -- the pieces, one by one ------------------------------------------------------------------------
def test_hidden_paths_are_masked_even_under_a_visible_folder(tmp_path: Path) -> None:
    visible = tmp_path / "visible"
    (visible / "keys").mkdir(parents=True)
    (visible / "keys" / "app.pem").write_text(SENTINEL)
    (visible / "config.toml").write_text(SENTINEL)
    runner.hide(visible / "keys")
    runner.hide(visible / "config.toml")
    sandbox = runner.Sandbox("required", writable=(tmp_path / "tree",), readable=(visible,))
    (tmp_path / "tree").mkdir()
    shown = runner.run(
        f"cat {visible}/keys/app.pem {visible}/config.toml; ls {visible}",
        cwd=tmp_path / "tree",
        sandbox=sandbox,
    )
    assert SENTINEL not in shown.stdout
    assert shown.sandboxed and "config.toml" in shown.stdout  # masked, not removed


def test_required_isolation_fails_in_one_line_where_the_host_cannot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "git").symlink_to(shutil.which("git") or "/usr/bin/git")  # gitpython needs it
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on it
    done = subprocess.run(
        [sys.executable, "-m", "perfagent", "--isolation", "required", "doctor"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "perfagent: error: isolation is required but unavailable: bubblewrap (`bwrap`) is not "
        "installed; run scripts/setup.sh"
    ]


def test_credentials_leave_the_environment_once_read() -> None:
    probe = (
        "import os\n"
        "from perfagent.tools import secrets\n"
        "env = secrets.environment()\n"
        "initial = open('/proc/self/environ', 'rb').read()\n"
        f"print(env['OPENAI_API_KEY'] == {SENTINEL!r}, 'OPENAI_API_KEY' in os.environ,"
        f" {SENTINEL!r}.encode() in initial, secrets.take('OPENAI_API_KEY') == {SENTINEL!r})\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "OPENAI_API_KEY": SENTINEL},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["True", "False", "False", "True"]


def test_a_report_of_more_time_than_the_process_ran_is_an_error() -> None:
    window = (1_000_000_000, 1_500_000_000)  # the parent saw 0.5 s
    honest = {"start_ns": 1_010_000_000, "end_ns": 1_490_000_000}
    assert wall_clock_error([0.1, 0.1, 0.1], honest, window) is None
    assert "inconsistent" in (wall_clock_error([0.3, 0.3], honest, window) or "")
    slowed = {"start_ns": 1_010_000_000, "end_ns": 1_010_000_000 // 3}  # a slowed clock
    assert "inconsistent" in (wall_clock_error([0.05], slowed, window) or "")
