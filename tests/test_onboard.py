"""``perfagent init`` and the workloads it makes from asv suites and pytest-benchmark tests,
on small real projects (git repos in tmp dirs); the lab measures them for real."""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
import tomllib
from pathlib import Path

import git
import pytest
from click.testing import CliRunner

from perfagent.agent.cli import main
from perfagent.agent.target import TargetOptions, resolve_target
from perfagent.tools import runner
from perfagent.tools.bench.session import SessionConfig
from perfagent.tools.bench.workloads import CHILD_DIR
from perfagent.tools.edit.paths import protected_patterns
from perfagent.tools.lab import MeasureOptions, measure
from perfagent.tools.onboard import detect, plan, pyproject
from perfagent.tools.taskspec import load_task
from tests.conftest import FAST_MODULE, SLOW_MODULE, TEST_FILE, unified_diff

# Generous time: a pytest process may take seconds to start on a loaded machine.
QUICK = SessionConfig(min_runs=5, max_runs=20, max_time_s=400, seed=0)

ASV_CONF = """\
// asv allows comment lines
{"version": 1, "project": "calc", "benchmark_dir": "perf"}
"""
ASV_BENCH = """
import calc

CALLS = []  # what ran, in order, for the test to read


def setup(*args):  # module-level: asv runs it before the class's own setup
    CALLS.append("module-setup")


class TotalSuite:
    params = [[10, 3000], ["plain", "squared"]]
    param_names = ["n", "kind"]

    def setup_cache(self):
        return {"offset": 1}

    def setup(self, cache, n, kind):
        if kind == "squared":
            raise NotImplementedError("asv: skip")
        self.n = n + cache["offset"] - 1

    def teardown(self, cache, n, kind):
        CALLS.append("teardown")

    def time_total(self, cache, n, kind):
        return calc.total(self.n)

    def helper(self):
        pass


def time_small(n):
    calc.total(5)


time_small.params = [1]
"""
BENCH_TESTS = """
import calc


def test_total(benchmark):
    assert benchmark(calc.total, 6000) == 71982001000


def test_plain():
    assert calc.total(4) == 14


class TestCalc:
    def test_method(self, benchmark):
        benchmark(calc.total, 10)
"""
SLEEPY_TESTS = """
import time

import calc


def test_sleepy(benchmark):
    time.sleep(0.5)  # untimed: outside the benchmarked call
    assert benchmark(calc.total, 3000) == 8995500500


def test_pedantic(benchmark):
    def make():
        time.sleep(0.5)  # pedantic's setup is not timed either
        return (3000,), {}

    assert benchmark.pedantic(calc.total, setup=make, rounds=50, iterations=3) == 8995500500
"""
PYTEST_ADDOPTS = """
[project]
name = "calc"
version = "0"

[tool.pytest.ini_options]
addopts = "--benchmark-sort=name --benchmark-skip --benchmark-warmup --benchmark-min-rounds 5"
"""


def _repo(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text), encoding="utf-8")
    repo = git.Repo.init(root)
    repo.git.add(A=True)
    repo.git.commit(m="base", author="t <t@example.com>")
    return root


@pytest.fixture
def asv_repo(tmp_path: Path) -> Path:
    return _repo(
        tmp_path / "asvproj",
        {
            "calc.py": SLOW_MODULE,
            "asv.conf.json": ASV_CONF,
            "perf/__init__.py": "",
            "perf/bench_calc.py": ASV_BENCH,
            "tests/test_calc.py": TEST_FILE,
        },
    )


@pytest.fixture
def bench_repo(tmp_path: Path) -> Path:
    return _repo(
        tmp_path / "benchproj",
        {
            "calc.py": SLOW_MODULE,
            "pyproject.toml": PYTEST_ADDOPTS,
            "tests/test_bench.py": BENCH_TESTS,
        },
    )


def _run_python(code: str, cwd: Path) -> str:
    result = runner.run([sys.executable, "-c", code], cwd=cwd, env={"PYTHONPATH": str(cwd)})
    assert result.returncode == 0, result.stderr
    return result.stdout


# -- asv -------------------------------------------------------------------------------------
def test_detects_asv_suite_statically(asv_repo: Path) -> None:
    findings = detect(asv_repo)
    assert findings.asv is not None
    assert (findings.asv.config, findings.asv.benchmark_dir) == ("asv.conf.json", "perf")
    assert [(b.name, b.params) for b in findings.asv.benchmarks] == [
        ("bench_calc.TotalSuite.time_total", True),
        ("bench_calc.time_small", True),
    ]
    assert findings.tests_dir == "tests"
    assert findings.benchmark_tests == ()


RUN_TWICE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("w", "perfagent_workload.py")
w = importlib.util.module_from_spec(spec)
spec.loader.exec_module(w)
w.setup(); first = w.workload(); w.setup(); second = w.workload()
calls = sys.modules["_perfagent_asv.bench_calc"].CALLS
calc = sys.modules["calc"].__file__
out = {"results": [first, second], "args": w._benchmark.args, "calls": calls, "calc": calc}
print(json.dumps(out))
"""


def test_asv_workload_follows_asv_semantics(asv_repo: Path) -> None:
    """params combination 2 of product([10, 3000], [plain, squared]) is (3000, plain);
    setup_cache's value comes first; module setup, class setup before every call;
    teardown between calls."""
    suite = detect(asv_repo)
    made = plan(suite, benchmark="time_total", param_index=2)
    assert made.workload_source is not None
    (asv_repo / "perfagent_workload.py").write_text(made.workload_source)
    out = json.loads(_run_python(RUN_TWICE, asv_repo))
    assert out == {
        "results": [8995500500, 8995500500],
        "args": [{"offset": 1}, 3000, "plain"],
        "calls": ["module-setup", "teardown", "module-setup"],
        "calc": str(asv_repo / "calc.py"),
    }


def test_asv_suite_comes_from_beside_the_workload(asv_repo: Path, tmp_path: Path) -> None:
    """Run in a variant tree whose benchmark was edited: the edit has no effect (the suite
    is the workload file's), while the code under test is the variant's."""
    made = plan(detect(asv_repo), benchmark="time_total", param_index=2)
    assert made.workload_source is not None
    (asv_repo / "perfagent_workload.py").write_text(made.workload_source)
    variant = tmp_path / "variant"
    shutil.copytree(asv_repo, variant, ignore=shutil.ignore_patterns(".git"))
    cheat = ASV_BENCH.replace("return calc.total(self.n)", "return 0")
    (variant / "perf" / "bench_calc.py").write_text(cheat)
    workload = str(asv_repo / "perfagent_workload.py")
    out = json.loads(
        _run_python(RUN_TWICE.replace('"perfagent_workload.py"', repr(workload)), variant)
    )
    assert out["results"] == [8995500500, 8995500500]
    assert out["calc"] == str(variant / "calc.py")


def test_asv_setup_not_implemented_means_skipped(asv_repo: Path) -> None:
    made = plan(detect(asv_repo), benchmark="TotalSuite.time_total", param_index=1)
    assert made.workload_source is not None
    (asv_repo / "perfagent_workload.py").write_text(made.workload_source)
    code = RUN_TWICE.replace("w.setup(); first", "w.setup()\nfirst")
    result = runner.run([sys.executable, "-c", code], cwd=asv_repo, env={"PYTHONPATH": "."})
    assert "asv skips bench_calc.TotalSuite.time_total for params ({'offset': 1}, 10, " in (
        result.stderr
    )
    assert "setup raised NotImplementedError" in result.stderr


def test_init_then_the_lab_measures_the_asv_benchmark(asv_repo: Path, tmp_path: Path) -> None:
    """init writes the table and an (uncommitted) workload; the target resolves to a task
    that runs the benchmark, and the lab sees the expert's large effect."""
    result = CliRunner().invoke(
        main, ["init", str(asv_repo), "--benchmark", "time_total", "--param-index", "2"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:3] == [
        "found: asv suite asv.conf.json (benchmark_dir perf/, 2 timing benchmark(s))",
        "found: tests folder tests/",
        "chose: asv benchmark bench_calc.TotalSuite.time_total (perf/bench_calc.py, "
        "params combination 2)",
    ]
    config = tomllib.loads((asv_repo / "pyproject.toml").read_text())["tool"]["perfagent"]
    assert config == {
        "workload": "perfagent_workload.py",
        "tests": ["python -m pytest -q -x tests"],
        "protected": ["perf/**"],
    }
    patch = tmp_path / "expert.diff"
    patch.write_text(unified_diff("calc.py", SLOW_MODULE, FAST_MODULE))
    task_file = resolve_target(str(asv_repo), TargetOptions(expert=str(patch)), tmp_path / "run")
    task = load_task(task_file)
    assert task.spec.workload.file == str(asv_repo / "perfagent_workload.py")
    assert "perf/**" in protected_patterns(task)  # the suite is not a candidate's to change
    report = measure(task, MeasureOptions(expert=True, session=QUICK))
    assert report.expert_verdict == "faster"
    assert report.equivalent is True


# -- pytest-benchmark ------------------------------------------------------------------------
def test_detects_benchmark_tests(bench_repo: Path) -> None:
    findings = detect(bench_repo)
    assert [t.node_id for t in findings.benchmark_tests] == [
        "tests/test_bench.py::test_total",
        "tests/test_bench.py::TestCalc::test_method",
    ]
    assert findings.asv is None
    made = plan(findings, benchmark="test_total")
    assert made.config["workload"] == {
        "kind": "pytest",
        "tests": ["tests/test_bench.py::test_total"],
    }
    assert "setup" not in made.config  # no [project].dependencies


def test_benchmark_fixture_times_only_the_benchmarked_call(bench_repo: Path) -> None:
    """Each test sleeps 0.5 s outside the benchmarked call; the recorded durations do not
    include it, and the project's pytest-benchmark addopts still parse."""
    (bench_repo / "tests" / "test_sleepy.py").write_text(SLEEPY_TESTS)
    report = bench_repo / "report.json"
    result = runner.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "_perfagent_pytest", "-p", "no:benchmark",
         "-p", "no:cacheprovider", "tests"],
        cwd=bench_repo,
        env={"PYTHONPATH": f"{bench_repo}:{CHILD_DIR}", "PERFAGENT_PYTEST_REPORT": str(report)},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    tests = json.loads(report.read_text())["tests"]
    assert {node: t["outcome"] for node, t in tests.items()} == dict.fromkeys(
        [
            "tests/test_bench.py::test_total",
            "tests/test_bench.py::test_plain",
            "tests/test_bench.py::TestCalc::test_method",
            "tests/test_sleepy.py::test_sleepy",
            "tests/test_sleepy.py::test_pedantic",
        ],
        "passed",
    )
    assert tests["tests/test_sleepy.py::test_sleepy"]["duration"] < 0.5
    assert tests["tests/test_sleepy.py::test_pedantic"]["duration"] < 0.5


def test_init_then_the_lab_measures_benchmark_tests(bench_repo: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["init", str(bench_repo), "--benchmark", "test_total"])
    assert result.exit_code == 0, result.output
    assert "chose: 1 pytest-benchmark test(s) in tests/test_bench.py" in result.output
    patch = tmp_path / "expert.diff"
    patch.write_text(unified_diff("calc.py", SLOW_MODULE, FAST_MODULE))
    task = load_task(
        resolve_target(str(bench_repo), TargetOptions(expert=str(patch)), tmp_path / "run")
    )
    assert task.spec.workload.tests == ["tests/test_bench.py::test_total"]
    report = measure(task, MeasureOptions(expert=True, session=QUICK))
    assert report.expert_verdict == "faster"


# -- the command and the table ---------------------------------------------------------------
def test_init_never_clobbers_without_force(bench_repo: Path) -> None:
    pyproject_file = bench_repo / "pyproject.toml"
    pyproject_file.write_text(
        pyproject_file.read_text()
        + '\n# mine\n[tool.perfagent]\nworkload = "mine.py"\n\n[tool.perfagent.x]\na = 1\n'
        + "\n[tool.other]\nkeep = true\n"
    )
    result = CliRunner().invoke(main, ["init", str(bench_repo)])
    assert result.exit_code == 2
    assert result.output == (
        f"perfagent: error: {pyproject_file}: [tool.perfagent] exists (--force replaces it)\n"
    )
    result = CliRunner().invoke(main, ["init", str(bench_repo), "--force", "--tests", "make check"])
    assert result.exit_code == 0, result.output
    data = tomllib.loads(pyproject_file.read_text())
    assert data["tool"]["perfagent"] == {
        "tests": ["make check"],
        "workload": {
            "kind": "pytest",
            "tests": [
                "tests/test_bench.py::test_total",
                "tests/test_bench.py::TestCalc::test_method",
            ],
        },
    }
    assert data["tool"]["other"] == {"keep": True}
    assert "# mine" in pyproject_file.read_text()


def test_init_writes_a_stub_when_nothing_is_there(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "plain", {"calc.py": SLOW_MODULE, "benchmarks/run.sh": "true\n"})
    result = CliRunner().invoke(main, ["init", str(repo)])
    assert result.exit_code == 0, result.output
    assert "chose: a workload stub to fill in (see benchmarks/ for code worth timing)" in (
        result.output
    )
    assert (repo / "perfagent_workload.py").read_text().count("def workload():") == 1
    assert tomllib.loads((repo / "pyproject.toml").read_text()) == {
        "tool": {"perfagent": {"workload": "perfagent_workload.py"}}
    }
    again = CliRunner().invoke(main, ["init", str(repo), "--force", "-q"])
    assert again.exit_code == 0, again.output
    assert again.output.splitlines() == [  # -q: only what was written
        f"wrote: {repo.resolve() / 'pyproject.toml'} [tool.perfagent], "
        f"{repo.resolve() / 'perfagent_workload.py'}"
    ]


def test_render_reads_back_as_the_config() -> None:
    config = {
        "workload": {"kind": "pytest", "tests": ['a.py::t["x"]', "b.py::ü"]},
        "setup": ["python -m pip install 'attrs>=23'"],
        "tests": [],
    }
    text = pyproject.render(config, "a comment\nover two lines")
    assert tomllib.loads(text) == {"tool": {"perfagent": config}}
    assert text.startswith("# a comment\n# over two lines\n[tool.perfagent]\n")


def test_installing_the_dependencies_lets_setup_reach_the_network(tmp_path: Path) -> None:
    """Setup runs without network unless the task allows it: the pip install init writes
    needs it, so init says so, and [tool.perfagent] carries it to the task."""
    pyproject_text = (
        '[project]\nname = "calc"\nversion = "0"\ndependencies = ["attrs>=23"]\n'
        '[dependency-groups]\ntest = ["hypothesis", {include-group = "lint"}]\nlint = ["ruff"]\n'
    )
    repo = _repo(tmp_path / "deps", {"calc.py": SLOW_MODULE, "pyproject.toml": pyproject_text})
    result = CliRunner().invoke(main, ["init", str(repo), "-q"])
    assert result.exit_code == 0, result.output
    config = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["perfagent"]
    # The code's dependencies, then its tests' group (an {include-group} entry is skipped).
    assert config["setup"] == ["python -m pip install 'attrs>=23' hypothesis"]
    assert config["setup_network"] is True
    task = load_task(resolve_target(str(repo), TargetOptions(), tmp_path / "run"))
    assert task.spec.setup_network is True and task.spec.setup == config["setup"]
