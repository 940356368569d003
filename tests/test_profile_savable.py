"""Savable time: ranking by what an edit of a function can remove, pass-through frames folded,
call paths, and the profiler's sample floor."""

from __future__ import annotations

import sysconfig
from pathlib import Path

from perfagent.tools.profile import Frame, Stack, profile_task, summary_text
from perfagent.tools.profile.aggregate import hotspots
from perfagent.tools.profile.savable import forwards_arguments, single_call_line
from perfagent.tools.taskspec import load_task
from tests.conftest import TaskFactory

# Line numbers matter: the stacks below name them.
MODULE = """\
import functools


def cached(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    return wrapper


def dispatch(kind, x):
    handler = HANDLERS[kind]
    return handler(x)


@cached
def work(x):
    total = 0
    for i in range(x):
        total += abs(i)
    return sorted(str(total))


def driver(n):
    out = []
    for i in range(n):
        out.append(dispatch("w", i))
    return out


HANDLERS = {"w": work}
"""
STDLIB_FILE = str(Path(sysconfig.get_paths()["stdlib"]) / "json" / "encoder.py")


def _stacks(tmp_path: Path) -> tuple[Path, Path, list[Stack]]:
    tree = tmp_path / "repo"
    tree.mkdir()
    mod = str(tree / "mod.py")
    (tree / "mod.py").write_text(MODULE)
    workload = tmp_path / "workload.py"
    entry = (Frame("<module>", "/x/driver.py", 1), Frame("workload", str(workload), 3))
    down = (
        *entry,
        Frame("driver", mod, 28),
        Frame("dispatch", mod, 14),
        Frame("wrapper", mod, 7),
    )
    stacks = [
        Stack((*down, Frame("work", mod, 21)), 30),  # the loop's own time
        Stack((*down, Frame("work", mod, 22), Frame("dumps", STDLIB_FILE, 5)), 50),  # stdlib
        Stack((*entry, Frame("driver", mod, 27)), 10),  # the driver's loop
        Stack((*entry, Frame("driver", mod, 28), Frame("dispatch", mod, 13)), 1),
    ]
    return tree, workload, stacks


def test_code_shapes_of_pass_through_frames(tmp_path: Path) -> None:
    tree, _, _ = _stacks(tmp_path)
    mod = str(tree / "mod.py")
    assert forwards_arguments(mod, (5, 7))  # the functools.wraps closure
    assert not forwards_arguments(mod, (17, 22))  # has a loop, takes no *args
    assert single_call_line(mod, 14)  # return handler(x)
    assert not single_call_line(mod, 28)  # a call of a call, inside a loop
    assert not single_call_line(mod, 13)  # a subscript, no call


def test_savable_ranking_folds_wrappers_and_dispatchers(tmp_path: Path) -> None:
    tree, workload, stacks = _stacks(tmp_path)
    repo, _, _, total = hotspots(stacks, tree, workload)
    assert total == 91
    by_name = {h.qualname: h for h in repo}
    # wrapper and dispatch are on 80 of 91 stacks and save nothing: folded, listed last
    assert by_name["cached.<locals>.wrapper"].passthrough
    assert by_name["dispatch"].passthrough
    assert not by_name["work"].passthrough and not by_name["driver"].passthrough
    assert [h.qualname for h in repo][:2] == ["work", "driver"]
    # work owns its own loop and the stdlib time on its line 22
    assert by_name["work"].samples_savable == 80
    assert by_name["work"].savable_lines == [(22, 50 / 91), (21, 30 / 91)]
    # driver owns its loop and dispatch's own sample (a folded frame's time goes up)
    assert by_name["driver"].samples_savable == 11
    assert by_name["dispatch"].samples_savable == 0
    # the call path leaves the pass-through frames out
    assert by_name["work"].call_path == ["driver", "work"]
    assert by_name["work"].call_path_share == 80 / 91


def test_summary_names_savable_share_call_path_and_folded_frames(tmp_path: Path) -> None:
    from perfagent.tools.profile import Profile

    tree, workload, stacks = _stacks(tmp_path)
    repo, external, shares, total = hotspots(stacks, tree, workload)
    profile = Profile("py-spy", "w", total, 1000, 1.0, False, repo, external, shares)
    text = summary_text(profile)
    rows = [line for line in text.splitlines() if " mod.py:" in line]
    assert rows[0].split()[0] == "87.9%" and " work " in rows[0]
    assert "dispatch" not in "\n".join(rows)
    assert "Call path to work (88% of samples): workload → driver → work" in text
    assert "Pass-through frames" in text and "cached.<locals>.wrapper" in text


def test_the_profiler_samples_until_the_floor(make_task: TaskFactory) -> None:
    """A workload of short calls gets more timed calls per process until the floor holds."""
    task = load_task(make_task())
    profile = profile_task(task, runs=1, min_samples=600, max_time_s=60)
    assert profile.ranked and profile.total_samples >= 600
    assert profile.sample_floor == 600
    assert profile.hotspots[0].qualname == "total"


def test_below_the_floor_the_profile_says_so(make_task: TaskFactory) -> None:
    task = load_task(make_task())
    profile = profile_task(task, runs=1, rate_hz=100, min_samples=10**6, max_time_s=0.0)
    assert not profile.ranked
    assert any("below the floor of 1000000" in w for w in profile.warnings)
    assert "too few to rank" in summary_text(profile)
