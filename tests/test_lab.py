"""The lab end to end on tiny real projects: real git, venvs, subprocesses."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from perfagent.tools.bench.session import SessionConfig
from perfagent.tools.errors import (
    BaselineError,
    EnvironmentSetupError,
    MeasurementError,
    TaskSpecError,
)
from perfagent.tools.lab import MeasureOptions, measure
from perfagent.tools.lab import report as lab_report
from perfagent.tools.lab.report import VariantResult, WorkloadResult
from perfagent.tools.lab.results import median, overall_verdict
from perfagent.tools.runner import sandbox_available, use_isolation
from perfagent.tools.taskspec import load_task
from tests.conftest import FAST_MODULE, SLOW_MODULE, TEST_FILE, TaskFactory, unified_diff

QUICK = SessionConfig(min_runs=5, max_runs=20, max_time_s=60, seed=0)
pytestmark = pytest.mark.usefixtures("no_leftovers")


def options(**kwargs: object) -> MeasureOptions:
    return MeasureOptions(session=QUICK, **kwargs)  # type: ignore[arg-type]


def test_expert_is_faster_and_equivalent(make_task: TaskFactory) -> None:
    report = measure(load_task(make_task()), options(expert=True))
    assert report.subject == "expert"
    assert report.verdict == "faster"
    assert report.ci[0] > 1
    assert report.equivalent is True
    assert report.tests_passed is True
    assert report.expert_speedup == report.speedup
    assert report.gso_opt is None  # no candidate
    assert [t.passed for t in report.tests["expert"]] == [True]


def test_candidate_with_wrong_output_is_not_equivalent(make_task: TaskFactory) -> None:
    wrong = FAST_MODULE.replace("i * i", "i * i + 1")
    patch = unified_diff("calc.py", SLOW_MODULE, wrong)
    report = measure(load_task(make_task()), options(candidate_patch=patch, expert=True))
    assert report.subject == "candidate"
    assert report.equivalent is False
    detail = report.workloads[0].variants["candidate"].equivalence_detail
    assert detail.startswith("output differs")
    assert report.tests_passed is False
    assert report.gso_opt is False
    assert report.expert_verdict == "faster"


def test_candidate_matching_expert_meets_gso_criterion(make_task: TaskFactory) -> None:
    patch = unified_diff("calc.py", SLOW_MODULE, FAST_MODULE)
    report = measure(load_task(make_task()), options(candidate_patch=patch, expert=True))
    assert report.verdict == "faster"
    assert report.gso is not None
    assert report.gso["gm_speedup"] >= 1.2
    # Identical code: the candidate's share of the expert's speedup is near 1.
    assert 0.8 < report.gso["hm_expert_share"] < 1.25


def test_candidate_touching_tests_is_flagged(make_task: TaskFactory) -> None:
    patch = unified_diff(
        "tests/test_calc.py", textwrap.dedent(TEST_FILE), "def test_total():\n    pass\n"
    )
    report = measure(load_task(make_task()), options(candidate_patch=patch))
    assert report.flags == ["candidate modifies a protected file: tests/test_calc.py"]


def test_each_variant_imports_its_own_code_despite_editable_install(make_task: TaskFactory) -> None:
    task_file = make_task(setup=["pip install -q --no-build-isolation --no-deps -e ."])
    repo = task_file.parent / "proj"
    (repo / "pyproject.toml").write_text(
        textwrap.dedent("""
        [build-system]
        requires = ["setuptools"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "calc"
        version = "0"
        [tool.setuptools]
        py-modules = ["calc"]
    """)
    )
    wrong = SLOW_MODULE.replace("return sum(values)", "return sum(values) + 1")
    report = measure(
        load_task(task_file), options(candidate_patch=unified_diff("calc.py", SLOW_MODULE, wrong))
    )
    # Had the editable install won, the candidate would have run base's code.
    assert report.equivalent is False


def test_import_from_another_tree_is_refused(make_task: TaskFactory) -> None:
    # An old-style .pth file that puts base's tree first and imports from it at start-up
    # (the driver puts each variant's tree ahead of the .pth paths, but a module imported
    # while ``site`` runs is already loaded).
    setup = (
        'python -c "import site, os; d = site.getsitepackages()[0]; '
        "open(os.path.join(d, 'pin.pth'), 'w').write("
        "'import sys; sys.path.insert(0, ' + repr(os.getcwd()) + '); import calc')\""
    )
    task_file = make_task(setup=[setup])
    # Unsandboxed, every tree is visible: the driver sees where calc came from and refuses.
    refused = pytest.raises(MeasurementError, match="imported code from outside its own tree")
    with use_isolation("off"), refused:
        measure(load_task(task_file), options(expert=True))
    if not sandbox_available()[0]:
        return
    # Sandboxed, a variant sees only its own tree: the pinned path is not there, and each
    # variant runs its own code.
    with use_isolation("required"):
        report = measure(load_task(task_file), options(expert=True))
    assert report.verdict == "faster"


# -- bad input: each a clear one-line error, nothing left behind -----------------------------
def test_workload_crashing_on_base(make_task: TaskFactory) -> None:
    crash = "def setup():\n    pass\n\ndef workload():\n    return 1 / 0\n"
    with pytest.raises(BaselineError) as info:
        measure(load_task(make_task(workload_src=crash)), options(expert=True))
    assert str(info.value) == (
        "workload 'workload' fails on base: ZeroDivisionError: division by zero"
    )


def test_test_failing_on_base(make_task: TaskFactory) -> None:
    failing = "def test_total():\n    assert False, 'broken on base'\n"
    with pytest.raises(BaselineError) as info:
        measure(load_task(make_task(tests=failing)), options(expert=True))
    message = str(info.value)
    assert message.startswith(
        "test command 'python -m pytest -q -p no:cacheprovider tests' fails on base (exit 1:"
    )
    assert "\n" not in message


def test_failing_base_tests_can_be_ignored(make_task: TaskFactory) -> None:
    failing = "def test_total():\n    assert False\n"
    report = measure(
        load_task(make_task(tests=failing)), options(expert=True, allow_failing_base_tests=True)
    )
    assert report.tests["expert"] == []
    assert report.verdict == "faster"


def test_hanging_setup_command_is_killed(make_task: TaskFactory) -> None:
    task_file = make_task(setup=["sleep 300"], limits={"timeout_s": 2, "memory_mb": 2048})
    with pytest.raises(EnvironmentSetupError) as info:
        measure(load_task(task_file), options(expert=True))
    assert str(info.value).startswith("setup command 'sleep 300' failed in repo: timed out")


def test_hanging_workload_is_killed(make_task: TaskFactory) -> None:
    hang = "import time\n\ndef workload():\n    time.sleep(300)\n"
    task_file = make_task(workload_src=hang, limits={"timeout_s": 3, "memory_mb": 2048})
    with pytest.raises(BaselineError, match="fails on base: workload process timed out"):
        measure(load_task(task_file), options(expert=True))


def test_missing_workload_file(make_task: TaskFactory) -> None:
    task_file = make_task(workload={"kind": "python", "file": "nope.py"})
    with pytest.raises(TaskSpecError, match=r"workload.file: file 'nope.py' not found"):
        measure(load_task(task_file), options(expert=True))


def test_patch_that_does_not_apply(make_task: TaskFactory) -> None:
    patch = unified_diff("calc.py", "something else\n", "x\n")
    with pytest.raises(Exception, match="candidate patch does not apply"):
        measure(load_task(make_task()), options(candidate_patch=patch))


def test_nothing_to_compare(make_task: TaskFactory) -> None:
    with pytest.raises(TaskSpecError, match="nothing to compare"):
        measure(load_task(make_task()), options())


def test_git_repo_source_at_ref_and_expert_commit(tmp_path: Path, make_task: TaskFactory) -> None:
    import git

    task_file = make_task(expert=None)
    repo_dir = task_file.parent / "proj"
    repo = git.Repo.init(repo_dir)
    repo.git.add("-A")
    repo.git.commit(
        "-q",
        "-m",
        "base",
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t",
        },
    )
    base_sha = repo.head.commit.hexsha
    (repo_dir / "calc.py").write_text(FAST_MODULE)
    repo.git.commit(
        "-q",
        "-am",
        "faster",
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t",
        },
    )
    expert_sha = repo.head.commit.hexsha
    import yaml

    spec = yaml.safe_load(task_file.read_text())
    spec.update(ref=base_sha, expert={"commit": expert_sha})
    task_file.write_text(yaml.safe_dump(spec))
    before = repo.git.status("--porcelain")
    report = measure(load_task(task_file), options(expert=True))
    assert report.verdict == "faster"
    assert repo.head.commit.hexsha == expert_sha  # the user's checkout is untouched
    assert repo.git.status("--porcelain") == before


def test_memory_growth_is_flagged(make_task: TaskFactory) -> None:
    hungry = FAST_MODULE.replace(
        '    """Sum of squares."""\n', '    """Sum of squares."""\n    _cache = [0] * 20_000_000\n'
    )
    report = measure(
        load_task(make_task()),
        options(candidate_patch=unified_diff("calc.py", SLOW_MODULE, hungry)),
    )
    base_mib = report.workloads[0].base_max_rss_kb // 1024
    assert base_mib < 100  # the driver reports its own peak, not perfagent's
    assert len(report.flags) == 1
    assert report.flags[0].startswith("candidate peak memory on workload: ")


def _workload(verdict: str, speedup: float) -> WorkloadResult:
    result = WorkloadResult("w", "python", False, 1.0, 5, 0, 1, 1.0, "decided")
    result.variants["candidate"] = VariantResult(
        speedup,
        (speedup, speedup),
        verdict,
        0.5,
        speedup,
        5,
        1.0,
        0,
        True,  # type: ignore[arg-type]
    )
    return result


@pytest.mark.parametrize(
    ("verdicts", "overall"),
    [
        (["faster", "faster"], "faster"),
        (["same", "same"], "same"),
        (["inconclusive"], "inconclusive"),
        (["inconclusive", "inconclusive"], "inconclusive"),
        (["faster", "inconclusive"], "mixed"),
        (["faster", "same", "slower"], "slower"),
    ],
)
def test_the_overall_verdict_over_workloads(verdicts: list[str], overall: str) -> None:
    workloads = [_workload(v, 1.0) for v in verdicts]
    assert overall_verdict("candidate", workloads)["verdict"] == overall


def test_the_overall_names_the_geometric_mean_and_the_worst_workload() -> None:
    workloads = [_workload("faster", 4.0), _workload("faster", 1.0), _workload("faster", 2.0)]
    for name, w in zip(("a", "b", "c"), workloads, strict=True):
        w.name = name
    overall = overall_verdict("candidate", workloads)
    assert overall["geomean_speedup"] == pytest.approx(2.0)
    assert overall["worst"] == {
        "workload": "b", "hidden": False, "speedup": 1.0, "ci": [1.0, 1.0], "verdict": "faster",
        "expert_speedup": None,
    }  # fmt: skip
    assert [row["workload"] for row in overall["per_workload"]] == ["a", "b", "c"]


def test_reported_medians_are_the_middle_of_an_even_number_of_runs() -> None:
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert median([3.0, 1.0, 2.0]) == 2.0


def test_known_test_results_are_not_run_again(make_task: TaskFactory) -> None:
    task = load_task(make_task())
    command = task.spec.tests[0]
    patch = unified_diff("calc.py", SLOW_MODULE, FAST_MODULE)
    # The caller vouches for base's result (here a summary no real run prints): the lab
    # reports it, marked reused, and runs only the candidate's tests.
    known = {"base": [lab_report.TestResult(command, True, "vouched for by the caller")]}
    report = measure(task, options(candidate_patch=patch, known_tests=known))
    assert report.tests["base"] == [
        lab_report.TestResult(command, True, "vouched for by the caller", True)
    ]
    [candidate] = report.tests["candidate"]
    assert candidate.passed and not candidate.reused
    assert candidate.summary != "vouched for by the caller"


def test_a_report_converts_to_json_and_back() -> None:
    variant = VariantResult(1.5, (1.4, 1.6), "faster", 0.001, 1.5, 10, 0.1, 1000, True)
    workload = WorkloadResult("w", "python", False, 0.15, 10, 1000, 12, 3.0, "decided")
    workload.variants["candidate"] = variant
    report = lab_report.MeasureReport(
        task="t", metric="time", subject="candidate", verdict="faster", speedup=1.5,
        ci=(1.4, 1.6), runs=10, equivalent=True, tests_passed=True, workloads=[workload],
        tests={"base": [lab_report.TestResult("pytest", True, "ok")]},
    )  # fmt: skip
    assert lab_report.MeasureReport.from_json(report.to_json()) == report
    assert report.verdict_facts() == {
        "speedup": 1.5, "ci": [1.4, 1.6], "verdict": "faster", "equivalent": True,
        "tests_passed": True,
    }  # fmt: skip
