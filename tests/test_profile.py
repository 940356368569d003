"""The profiler: parsing samplers' output, ranking hotspots, and real py-spy runs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from perfagent.tools.bench.workloads import Sample, Variant, WorkloadRunner
from perfagent.tools.edit.locate import functions_in
from perfagent.tools.errors import MeasurementError
from perfagent.tools.profile import (
    Frame,
    Hotspot,
    Stack,
    profile_task,
    samplers,
    summary_text,
    write_speedscope,
)
from perfagent.tools.profile.aggregate import hotspots, timed_part
from perfagent.tools.profile.samplers import parse_perf_script, parse_pyspy_raw
from perfagent.tools.taskspec import load_task
from tests.conftest import EXAMPLES, TaskFactory

MODULE = """\
def outer(n):
    total = 0
    for i in range(n):
        total += inner(i)
    return total


class Box:
    def inner_method(self, x):
        return x * 2


def inner(i):
    return Box().inner_method(i)
"""


def test_parse_pyspy_raw() -> None:
    text = (
        " 4\n"
        'process 12:"python x";<module> (/w/x.py:4);workload (/w/x.py:7);spin (/r/a.py:3) 9\n'
        "<module> (/w/x.py:4);workload (/w/x.py:7) 2\n"
        "<module> (/w/x.py:4);native_thing (libfoo.so) 1\n"
    )
    assert parse_pyspy_raw(text) == [
        Stack(
            (
                Frame("<module>", "/w/x.py", 4),
                Frame("workload", "/w/x.py", 7),
                Frame("spin", "/r/a.py", 3),
            ),
            9,
        ),
        Stack((Frame("<module>", "/w/x.py", 4), Frame("workload", "/w/x.py", 7)), 2),
        Stack((Frame("<module>", "/w/x.py", 4), Frame("native_thing", "libfoo.so", 0)), 1),
    ]


def test_parse_perf_script() -> None:
    text = (
        "python 123 456.789: 250000 cpu-clock:\n"
        "\t    7f00aa list_append+0x12 (/usr/lib/libpython3.11.so)\n"
        "\t    7f00bb _PyEval_EvalFrameDefault+0x400 (/usr/lib/libpython3.11.so)\n"
        "\n"
        "python 123 456.790: 250000 cpu-clock:\n"
        "\t    7f00aa list_append+0x12 (/usr/lib/libpython3.11.so)\n"
        "\t    7f00bb _PyEval_EvalFrameDefault+0x400 (/usr/lib/libpython3.11.so)\n"
    )
    lib = "/usr/lib/libpython3.11.so"
    assert parse_perf_script(text) == [
        Stack((Frame("_PyEval_EvalFrameDefault", lib, 0), Frame("list_append", lib, 0)), 2)
    ]


def _module_repo(tmp_path: Path) -> tuple[Path, Path, str, tuple[Frame, ...]]:
    """A repo holding MODULE: (tree, workload file, module path, the frames above a call)."""
    tree = tmp_path / "repo"
    tree.mkdir()
    (tree / "mod.py").write_text(MODULE)
    workload = tmp_path / "workload.py"
    entry = (Frame("<module>", "/x/driver.py", 1), Frame("workload", str(workload), 3))
    return tree, workload, str(tree / "mod.py"), entry


def test_hotspots_rank_by_savable_share_and_map_qualnames(tmp_path: Path) -> None:
    tree, workload, mod, entry = _module_repo(tmp_path)
    stacks = [
        Stack(
            (
                *entry,
                Frame("outer", mod, 4),
                Frame("inner", mod, 14),
                Frame("inner_method", mod, 10),
            ),
            6,
        ),
        Stack((*entry, Frame("outer", mod, 4), Frame("inner", mod, 14)), 2),
        Stack((*entry, Frame("outer", mod, 3)), 2),
        Stack((Frame("<module>", "/x/driver.py", 1), Frame("setup", str(workload), 1)), 50),
    ]
    timed = timed_part(stacks, workload)
    assert sum(s.count for s in timed) == 10  # setup() samples are not the workload's
    repo, external, shares, total = hotspots(timed, tree, workload)
    assert total == 10
    # by savable share (own time here: no calls leave the repo), then inclusive share
    assert [(h.qualname, h.lines, h.inclusive, h.self, h.savable) for h in repo] == [
        ("Box.inner_method", (9, 10), 0.6, 0.6, 0.6),
        ("outer", (1, 5), 1.0, 0.2, 0.2),
        ("inner", (13, 14), 0.8, 0.2, 0.2),
    ]
    assert repo[1].file == "mod.py"
    assert repo[1].hot_lines == [(4, 0.8), (3, 0.2)]
    assert repo[1].savable_lines == [(3, 0.2)]
    assert external == []
    assert shares == {"repo": 1.0}


def test_a_line_counts_once_per_sample_when_a_generator_runs_on_it(tmp_path: Path) -> None:
    # A generator expression is its own frame, on the line of the function that runs it.
    tree, workload, mod, entry = _module_repo(tmp_path)
    stacks = [
        Stack((*entry, Frame("outer", mod, 4), Frame("<genexpr>", mod, 4)), 3),
        Stack((*entry, Frame("outer", mod, 3)), 1),
    ]
    repo, _, _, total = hotspots(stacks, tree, workload)
    assert total == 4
    assert repo[0].qualname == "outer"
    assert repo[0].hot_lines == [(4, 0.75), (3, 0.25)]


def test_speedscope_and_summary(tmp_path: Path, make_task: TaskFactory) -> None:
    profile = profile_task(load_task(make_task()), runs=1, rate_hz=250)
    out = tmp_path / "flame.speedscope.json"
    write_speedscope(profile, out)
    document = json.loads(out.read_text())
    assert document["profiles"][0]["type"] == "sampled"
    assert sum(document["profiles"][0]["weights"]) == profile.total_samples
    assert all(not f["file"].startswith("/tmp/perfagent-") for f in document["shared"]["frames"])
    assert profile.hotspots[0].qualname == "total"
    assert profile.hotspots[0].file == "calc.py"
    # Nearly every sample is in total(); one can land in workload() itself, around the call.
    assert profile.hotspots[0].inclusive >= 0.8
    text = summary_text(profile, token_budget=60)
    assert len(text) <= 60 * 4 + 200  # the header lines are always kept
    assert "total calc.py:2-7" in summary_text(profile)


def edited_functions(repo: Path, diff: str) -> set[str]:
    """Qualified names of base functions whose lines an expert diff removes or changes."""
    edited: set[str] = set()
    for file_diff in re.split(r"^diff --git ", diff, flags=re.MULTILINE)[1:]:
        path = re.search(r"^--- a/(\S+)", file_diff, re.MULTILINE)
        if path is None:
            continue
        functions = functions_in(repo / path.group(1))
        for hunk in re.finditer(r"^@@ -(\d+)(?:,(\d+))? ", file_diff, re.MULTILINE):
            start, length = int(hunk.group(1)), int(hunk.group(2) or 1)
            body = file_diff[hunk.end() :].split("\n@@", 1)[0].splitlines()[1:]
            line = start
            for text in body:
                if text.startswith("-"):
                    edited.update(
                        f.qualname for f in functions if f.start_line <= line <= f.end_line
                    )
                if not text.startswith("+"):
                    line += 1
            del length
    return edited


@pytest.mark.slow
def test_a_process_py_spy_missed_is_profiled_again(
    make_task: TaskFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a loaded machine py-spy can look at the process it started before Python is mapped
    (seen under a Dask batch); that run is repeated instead of failing the profile."""
    real_run = WorkloadRunner.run
    calls: list[int] = []

    def first_run_missed(self: WorkloadRunner, variant: Variant, **kwargs: Any) -> Sample:
        calls.append(1)
        if len(calls) == 1:
            error = "workload process exit 1: Error: No python processes found in process 42"
            return Sample(variant.name, float("nan"), error=error)
        return real_run(self, variant, **kwargs)

    monkeypatch.setattr(WorkloadRunner, "run", first_run_missed)
    profile = profile_task(load_task(make_task()), runs=1, rate_hz=250)
    assert len(calls) >= 2
    assert profile.hotspots[0].qualname == "total"


def test_other_workload_failures_under_py_spy_are_not_retried(
    make_task: TaskFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def crashes(self: WorkloadRunner, variant: Variant, **kwargs: Any) -> Sample:
        calls.append(1)
        return Sample(variant.name, float("nan"), error="workload raised ValueError: bad")

    monkeypatch.setattr(WorkloadRunner, "run", crashes)
    with pytest.raises(MeasurementError, match="fails under py-spy: workload raised ValueError"):
        profile_task(load_task(make_task()), runs=1, rate_hz=250)
    assert len(calls) == 1


@pytest.mark.parametrize("task_file", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_expert_edited_function_ranks_in_top_three(task_file: Path) -> None:
    task = load_task(task_file)
    assert task.spec.expert is not None and task.spec.expert.patch is not None
    diff = (task.dir / task.spec.expert.patch).read_text()
    edited = edited_functions(Path(task.repo_location()), diff)
    profile = profile_task(task, runs=2)
    top = [h.qualname for h in profile.hotspots[:3]]
    assert edited & set(top), f"edited {sorted(edited)}, top 3 {top}"


@pytest.mark.skipif(samplers.perf_status() != "", reason="perf record not usable here")
def test_perf_adds_native_hotspots(make_task: TaskFactory, tmp_path: Path) -> None:
    profile = profile_task(load_task(make_task()), runs=1, perf=True)
    assert profile.backend == "py-spy+perf"
    assert profile.native_hotspots
    assert all(h.kind == "native" for h in profile.native_hotspots)
    names = {h.qualname for h in profile.native_hotspots}
    assert "_PyEval_EvalFrameDefault" in names or any(
        "libpython" in h.file for h in profile.native_hotspots
    )
    out = tmp_path / "flame.json"
    write_speedscope(profile, out)
    assert len(json.loads(out.read_text())["profiles"]) == 2


def test_a_hotspot_converts_to_json_and_back() -> None:
    spot = Hotspot("C.f", "m.py", (3, 9), 0.5, 0.25, "repo", 50, 25, [(4, 0.3), (5, 0.2)])
    data = spot.to_json()
    assert data["lines"] == [3, 9] and data["hot_lines"] == [[4, 0.3], [5, 0.2]]
    assert Hotspot.from_json(data) == spot
