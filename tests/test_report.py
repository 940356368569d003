"""Reports from trajectories (markdown, HTML, headless Chromium) and flame graphs."""

from __future__ import annotations

import copy
import json
import re
import shutil
import struct
import xml.etree.ElementTree as ET
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from perfagent.agent.cli.report import report_command
from perfagent.agent.report import (
    CSP,
    TrajectoryError,
    load_trajectory,
    render_html,
    render_markdown,
    write_reports,
)
from perfagent.agent.types import Candidate
from perfagent.tools.bench.stats import Verdict
from perfagent.tools.lab.report import MeasureReport, VariantResult, WorkloadResult
from perfagent.tools.lab.report import TestResult as CommandResult
from perfagent.tools.profile import (
    Frame,
    Hotspot,
    Profile,
    Stack,
    collapsed,
    diff_flamegraph_svg,
    flamegraph_svg,
)
from perfagent.tools.profile.flamegraph import by_function
from perfagent.tools.runner import Limits, run

EVIL = "<script>alert('x')</script>"
CHROMIUM = "/usr/bin/chromium"


# -- trajectories ------------------------------------------------------------------------------
def _runs(median: float) -> list[float]:
    """24 per-process times spread ±4 % around ``median`` (deterministic)."""
    return [median * (1 + 0.008 * ((i * 7) % 11 - 5)) for i in range(24)]


def _variant(speedup: float, ci: tuple[float, float], verdict: Verdict) -> VariantResult:
    return VariantResult(
        speedup=speedup,
        ci=ci,
        verdict=verdict,
        p_value=0.001,
        ratio_of_medians=speedup,
        runs=24,
        median=0.010 / speedup,
        max_rss_kb=40_000,
        equivalent=True,
        values=_runs(0.010 / speedup),
    )


def _report(*, expert: bool) -> dict[str, Any]:
    workloads = []
    for name, hidden, cand in (("visible", False, 1.8), ("hidden-1", True, 1.6)):
        w = WorkloadResult(name, "file", hidden, 0.010, 24, 40_000, 4, 3.0, "decided")
        w.base_values = _runs(0.010)
        if expert:
            w.variants["expert"] = _variant(2.0, (1.9, 2.1), "faster")
        w.variants["candidate"] = _variant(cand, (cand - 0.1, cand + 0.1), "faster")
        workloads.append(w)
    report = MeasureReport(
        task="dedupe",
        metric="time",
        subject="candidate",
        verdict="faster",
        speedup=1.8,
        ci=(1.7, 1.9),
        runs=24,
        equivalent=True,
        tests_passed=True,
        workloads=workloads,
        tests={"candidate": [CommandResult("pytest -q", True, "3 passed")]},
        overall={"workloads": 2, "verdict": "faster", "geomean_speedup": 1.697},
        config={"confidence": 0.95, "min_effect": 0.05},
        machine={"python": "3.11.2", "cpus": 2},
        elapsed_s=41.0,
    )
    if expert:
        report.expert_speedup, report.expert_ci, report.expert_verdict = 2.0, (1.9, 2.1), "faster"
        report.gso = {
            "gm_speedup": 1.697,
            "hm_expert_share": 0.84,
            "per_workload": [
                {"name": "visible", "speedup": 1.8, "expert_share": 0.9},
                {"name": "hidden-1", "speedup": 1.6, "expert_share": 0.8},
            ],
            "passed": False,
        }
        report.gso_opt = False
    return report.to_json()


def _profile(slow_share: int) -> dict[str, Any]:
    def f(name: str, line: int) -> Frame:
        return Frame(name, "dedupe/core.py", line)

    stacks = [
        Stack((f("dedupe", 10), f("_seen", 14)), slow_share),
        Stack((f("dedupe", 10), f("normalise", 30)), 40),
        Stack((f("dedupe", 10), f("<lambda>", 31)), 10),
    ]
    seen = slow_share / sum(s.count for s in stacks)
    profile = Profile(
        backend="py-spy",
        workload="visible",
        total_samples=sum(s.count for s in stacks),
        rate_hz=200,
        duration_s=2.0,
        native=False,
        hotspots=[
            Hotspot("dedupe", "dedupe/core.py", (9, 20), 1.0, 0.0),
            Hotspot("_seen", "dedupe/core.py", (12, 16), seen, seen, hot_lines=[(14, seen)]),
        ],
        external=[],
        outside_share={"repo": 1.0},
        stacks=stacks,
    )
    return {**profile.to_json(), "collapsed": collapsed(profile)}


def _candidate(cid: str, rnd: int, source: str, rule: str | None, **fate: Any) -> dict[str, Any]:
    c = Candidate(cid, source, f"--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+{cid}\n", ("x.py",),
                  "dedupe._seen", rule_id=rule, rationale="set lookup")  # fmt: skip
    base = {"speedup": None, "ci": None, "verdict": None, "equivalent": None}
    return {**c.to_json(), "round": rnd, "flags": [], "tests_passed": None, **base, **fate}


def full_trajectory() -> dict[str, Any]:
    final_report = _report(expert=True)
    patch = "--- a/dedupe/core.py\n+++ b/dedupe/core.py\n@@ -14 +14 @@\n-    return x in seen\n"
    patch += "+    return x in seen_set  # a < b && c > d\n"
    call = {
        "provider": "openai", "model": "gpt-4o-mini", "messages": [], "response": EVIL,
        "tool_calls": [], "input_tokens": 1200, "output_tokens": 300, "cost_usd": 0.0004,
        "latency_s": 2.5, "attempts": 1, "error": None, "purpose": "propose",
    }  # fmt: skip
    rounds = [
        {"round": 1, "baseline_patch": "", "candidates": ["m-1", "rules-1"], "accepted": "m-1",
         "proposer_errors": [], "timing": {"wall_s": 300.0, "measure_s": 250.0,
                                           "profile_s": 20.0, "model_s": 5.0}},
        {"round": 2, "baseline_patch": patch, "candidates": ["m-2", "m-3"], "accepted": None,
         "proposer_errors": ["answer had no diff"], "timing": {"wall_s": 200.0}},
    ]  # fmt: skip
    candidates = [
        _candidate("m-1", 1, "model", None, outcome="accepted", stage="verdict",
                   reason="faster 1.800× [1.700, 1.900]", speedup=1.8, ci=[1.7, 1.9],
                   verdict="faster", equivalent=True, tests_passed=True),
        _candidate("rules-1", 1, "rules", "list-to-set", outcome="rejected", stage="static",
                   reason=f"tests failed: {EVIL}"),
        _candidate("m-2", 2, "model", None, outcome="superseded", stage="screen",
                   reason="a better one won", speedup=1.1, ci=[1.02, 1.2], verdict="faster"),
        _candidate("m-3", 2, "model", None, outcome="rejected", stage="apply",
                   reason="edits a protected file", flags=["touches the workload file"]),
    ]  # fmt: skip
    return {
        "format": "perfagent-trajectory",
        "version": 1,
        "run_id": "20250101-120000",
        "task_id": "dedupe",
        "task_file": "/work/tasks/dedupe.yaml",
        "status": "done",
        "created": "2025-01-01T12:00:00Z",
        "updated": "2025-01-01T12:20:00Z",
        "config": {
            "proposer": "openai:gpt-4o-mini",
            "max_iterations": 2,
            "max_cost": 1.0,
            "session": {"min_effect": 0.05, "max_runs": 60},
        },
        "versions": {"perfagent": "0.1.0", "python": "3.11.2", "libcst": "1.5.0"},
        "machine": {"python": "3.11.2", "cpus": 2, "load_avg": [0.5, 0.4, 0.3]},
        "baseline": {"tests": [], "workloads": [{"name": "visible", "hidden": False, "ok": True}]},
        "profiles": [
            {"round": 1, "patch_sha": None, "profile": _profile(50)},
            {"round": 2, "patch_sha": "0123456789abcdef", "profile": _profile(5)},
        ],
        "rounds": rounds,
        "calls": [{**call, "round": 1}, {**call, "round": 2, "cost_usd": None}],
        "candidates": candidates,
        "measurements": [{"kind": "final", "candidate": None, "report": final_report}],
        "usage": {"calls": 2, "input_tokens": 2400, "output_tokens": 600, "cost_usd": 0.0008},
        "final": {
            "patch": patch,
            "speedup": 1.8,
            "ci": [1.7, 1.9],
            "verdict": "faster",
            "equivalent": True,
            "tests_passed": True,
            "expert_speedup": 2.0,
            "expert_ci": [1.9, 2.1],
            "expert_verdict": "faster",
            "gso_opt": False,
            "flags": ["candidate is faster on the visible workload but not on every hidden one"],
            "accepted": ["m-1"],
            "report": final_report,
        },
        "stop_reason": "max iterations",
        "error": None,
    }


def minimal_trajectory(**changes: Any) -> dict[str, Any]:
    """A run that has just started: every key present, nothing known yet."""
    traj = full_trajectory()
    for key in ("config", "versions", "machine", "baseline", "usage", "final"):
        traj[key] = None
    for key in ("profiles", "rounds", "calls", "candidates", "measurements"):
        traj[key] = []
    traj.update({"status": "running", "stop_reason": None, "error": None, **changes})
    return traj


def _write(tmp_path: Path, traj: dict[str, Any]) -> Path:
    path = tmp_path / "run" / "dedupe.traj.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(traj), encoding="utf-8")
    return path


# -- flame graphs ------------------------------------------------------------------------------
def _rects(svg: str) -> dict[str, float]:
    """Frame label -> drawn width, read from each frame's tooltip."""
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    out = {}
    for group in root.iter(f"{ns}g"):
        tip = group.find(f"{ns}title")
        rect = group.find(f"{ns}rect")
        assert tip is not None and tip.text and rect is not None
        out[tip.text.split(" — ")[0]] = float(rect.attrib["width"])
    return out


def test_collapsed_merges_and_sorts() -> None:
    main, f = Frame("main", "a.py", 1), Frame("f", "a.py", 5)
    stacks = [
        Stack((main, Frame("g", "a.py", 9)), 1),
        Stack((main, f), 3),
        Stack((main, f), 2),
        Stack((), 7),
        Stack((Frame("PyList_Append", "", 0), Frame("x;y", "lib.so", 0)), 4),
    ]
    assert collapsed(stacks) == [
        "PyList_Append;x:y (lib.so) 4",
        "main (a.py:1);f (a.py:5) 5",
        "main (a.py:1);g (a.py:9) 1",
    ]
    profile = Profile("py-spy", "w", 6, 100, 1.0, False, [], [], {}, stacks=stacks[:3])
    assert collapsed(profile) == collapsed(stacks[:3])


def test_flamegraph_widths_are_proportional_to_counts() -> None:
    svg = flamegraph_svg(["a (m.py:1);b (m.py:2) 3", "a (m.py:1);c (m.py:3) 1"], title="t")
    widths = _rects(svg)
    assert widths["all"] == widths["a (m.py:1)"] == 1200 - 20
    assert widths["b (m.py:2)"] == pytest.approx(3 * widths["c (m.py:3)"], abs=0.02)
    assert "75.00%" in svg and "25.00%" in svg
    assert svg == flamegraph_svg(["a (m.py:1);b (m.py:2) 3", "a (m.py:1);c (m.py:3) 1"], title="t")


def test_flamegraph_omits_narrow_frames_and_colours_by_name() -> None:
    svg = flamegraph_svg(["a;wide (m.py:1) 5000", "a;wide (m.py:2) 4999", "a;tiny 5"], title="t")
    assert "tiny" not in svg
    fills = re.findall(r"<title>wide \(m\.py:\d\)[^<]*</title><rect [^>]*fill=\"([^\"]+)\"", svg)
    assert len(fills) == 2 and fills[0] == fills[1]


def test_flamegraph_escapes_and_is_self_contained() -> None:
    svg = flamegraph_svg([f"<lambda> (a&b.py:1);{EVIL} 2"], title="<t> & co")
    ET.fromstring(svg)  # well-formed XML
    assert "<lambda>" not in svg and "<script" not in svg.lower()
    assert "&lt;lambda&gt;" in svg and "&lt;t&gt; &amp; co" in svg
    assert not re.search(r"href|src=|url\(|@import", svg)
    assert re.findall(r"https?://[^\"]+", svg) == ["http://www.w3.org/2000/svg"]


def test_flamegraph_handles_no_samples_and_deep_stacks() -> None:
    assert "no samples" in flamegraph_svg([], title="empty")
    deep = ";".join(f"f{i} (r.py:{i})" for i in range(3000)) + " 1"
    svg = flamegraph_svg([deep], title="deep")
    assert svg.count("<rect") == 3002  # background, "all", 3000 frames


def test_diff_flamegraph_colours_frames_by_the_change_of_their_share() -> None:
    before = ["main (m.py:1);slow (m.py:10) 80", "main (m.py:1);other (m.py:20) 20"]
    # The edit moved slow's hot line and made it cheaper: other now takes a larger share.
    after = ["main (m.py:1);slow (m.py:12) 20", "main (m.py:1);other (m.py:20) 20"]
    assert by_function(after) == ["main (m.py);other (m.py) 20", "main (m.py);slow (m.py) 20"]
    svg = diff_flamegraph_svg(before, after, title="<after> vs before")
    ET.fromstring(svg)
    fills = dict(
        re.findall(r"<title>(\w+) \(m\.py\) — [^<]*</title><rect [^>]*fill=\"([^\"]+)\"", svg)
    )
    assert fills == {
        "main": "rgb(236,236,236)",
        "slow": "rgb(75,75,250)",
        "other": "rgb(250,75,75)",
    }
    assert "slow (m.py) — before 80.00% → after 50.00% (-30.00 points" in svg
    assert _rects(svg)["slow (m.py)"] == _rects(svg)["other (m.py)"]  # widths: after's samples
    assert "&lt;after&gt; vs before" in svg and "<script" not in svg
    assert "no samples" in diff_flamegraph_svg(before, [], title="t")


# -- rendering ---------------------------------------------------------------------------------
def test_markdown_full_run() -> None:
    md = render_markdown(full_trajectory(), path="trajectories/r/dedupe.traj.json")
    for fact in (
        "perfagent report: `dedupe`",
        "| result | value |",
        "| verdict (2 workloads) | faster |",
        "| speedup (geometric mean of 2 workloads) | 1.697× |",
        "| worst workload | hidden-1 (hidden): 1.600× [1.500, 1.700] |",
        "| equivalent outputs | yes |",
        "| stop reason | max iterations |",
        "| expert speedup (geometric mean) | 2.000× |",
        "| GSO opt | no |",
        "| workload | speedup [CI] | verdict | expert [CI] | share of the expert's gain |",
        "| `visible` | 1.800× [1.700, 1.900] | faster | 2.000× [1.900, 2.100] | 90.0% |",
        "| `hidden-1 (hidden)` | 1.600× [1.500, 1.700] | faster | 2.000× [1.900, 2.100] | 80.0% |",
        "harmonic-mean expert share 84.0% (> 95%) → opt = False",
        "| `hidden-1 (hidden)` | base |",
        "| candidate | 5.56 ms | 1.800× | [1.700, 1.900] | faster | 24 | yes | 90.0% |",
        "opt = False",
        "| `rules-1` | 1 | rules | `list-to-set` | `dedupe._seen` | static | **rejected** |",
        "| `m-2` | 2 | model | `openai:gpt-4o-mini` |",
        "superseded",
        "1.100× [1.020, 1.200]",
        "m-3: touches the workload file",
        "### before: round 1 — visible (py-spy, 100 samples)",
        "### after: round 2, patch 0123456789ab — visible (py-spy, 55 samples)",
        "input tokens: 2,400",
        "| `openai:gpt-4o-mini` | 2 | 0 | 2,400 | 600 | $0.0004 + unknown |",
        "```diff\n--- a/dedupe/core.py",
        "perfagent replay trajectories/r/dedupe.traj.json",
        "| `session.max_runs` | 60 |",
        "| `load_avg` | 0.5, 0.4, 0.3 |",
    ):
        assert fact in md, fact
    # Markup is backslashed, never written as entities (which read as "&gt;" in plain text).
    assert not re.search(r"(?<!\\)<script", md) and "&gt;" not in md and "&lt;" not in md
    assert "tests failed: \\<script>alert('x')\\</script>" in md


def test_html_full_run_is_escaped_and_self_contained() -> None:
    page = render_html(full_trajectory(), path="trajectories/r/dedupe.traj.json")
    assert "<script" not in page.lower()
    assert "tests failed: &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "# a &lt; b &amp;&amp; c &gt; d</span>" in page
    assert '<td class="num">1.800×</td><td class="num">[1.700, 1.900]</td>' in page
    assert "<code>hidden-1 (hidden)</code>" in page
    assert '<td class="bad">rejected</td>' in page and '<td class="good">accepted</td>' in page
    assert "⚠ Guard flags (2)" in page and "m-3: touches the workload file" in page
    assert page.count("<svg") == 4 and page.count('class="flamegraph"') == 2
    assert page.count('class="flamegraph diff"') == 1 and page.count('class="distribution"') == 1
    # The plot: a dot per run of each variant on each workload, a CI band per non-base row.
    plot = page.split('class="distribution"')[1].split("</svg>")[0]
    assert plot.count("<circle") == 2 * 3 * 24 and plot.count('class="ci"') == 4
    assert "hidden-1 (hidden)" in plot and "1.800× [1.700, 1.900] · 24 runs" in plot
    assert "_seen (dedupe/core.py:14)" in page
    assert "<h2>Model usage</h2>" in page and "$0.0008" in page
    assert "perfagent replay trajectories/r/dedupe.traj.json" in page
    # No way to load anything: no src/href/url(), only the SVG namespace as an address.
    assert not re.search(r"\bsrc=|href=|url\(|@import|@font-face", page)
    assert set(re.findall(r"https?://[^\s\"'<]+", page)) == {"http://www.w3.org/2000/svg"}
    assert "default-src 'none'" in page


@pytest.mark.parametrize(
    "traj",
    [
        minimal_trajectory(),
        minimal_trajectory(status="failed", error=f"baseline: workload crashed {EVIL}"),
        {**full_trajectory(), "final": {**full_trajectory()["final"], "report": None}},
    ],
    ids=["running", "failed", "final-without-report"],
)
def test_partial_runs_render(traj: dict[str, Any]) -> None:
    md, page = render_markdown(traj), render_html(traj)
    assert not re.search(r"(?<!\\)<script", md) and "<script" not in page.lower()
    if traj["final"] is None:
        assert "No final measurement" in md and "No final measurement" in page
        assert "No change was kept." in page and "No profile was recorded." in md
        assert "Model usage" not in page and "| speedup (95% CI) | — |" in md
        assert "perfagent replay trajectories/20250101-120000/dedupe.traj.json" in md
    if traj["error"]:
        assert "Run failed:" in md and "workload crashed &lt;script&gt;" in page


def test_no_expert_no_accepted_candidate() -> None:
    traj = full_trajectory()
    report = _report(expert=False)
    traj["final"].update(
        patch="", speedup=None, ci=None, verdict=None, expert_speedup=None, expert_ci=None,
        expert_verdict=None, gso_opt=None, accepted=[], report=report, flags=[],
    )  # fmt: skip
    traj["candidates"] = [c for c in traj["candidates"] if c["outcome"] == "rejected"]
    for c in traj["candidates"]:
        c["flags"] = []
    md, page = render_markdown(traj), render_html(traj)
    assert "expert" not in md.split("## Guard flags")[0]
    assert "| accepted candidates | none |" in md and "No change was kept." in md
    assert "No guard flags were raised." in page and "GSO criterion" not in page


def test_one_workload_headline_is_its_speedup_and_ci() -> None:
    traj = full_trajectory()
    report = traj["final"]["report"]
    report["workloads"] = report["workloads"][:1]
    md, page = render_markdown(traj), render_html(traj)
    assert "| speedup (95% CI) | 1.800× [1.700, 1.900] |" in md and "worst workload" not in md
    assert '<div class="v good">1.800× [1.700, 1.900]</div>' in page


def test_flame_graph_from_raw_stacks_when_not_folded() -> None:
    traj = full_trajectory()
    for entry in traj["profiles"]:
        entry["profile"].pop("collapsed")
    page = render_html(traj)
    assert "flamegraph" not in page and page.count("No stacks were recorded") == 2
    stacks = [Stack((Frame("main", "m.py", 3), Frame("hot", "m.py", 7)), 9)]
    raw = Profile("py-spy", "visible", 9, 100, 1.0, False, [], [], {}, stacks=stacks)
    traj["profiles"][0]["profile"] = raw.to_json(with_stacks=True)
    page = render_html(traj)
    assert page.count('class="flamegraph"') == 1 and "hot (m.py:7) — 9 samples (100.00%)" in page
    assert 'class="flamegraph diff"' not in page  # one side has no stacks: nothing to compare


def test_write_reports_and_cli(tmp_path: Path) -> None:
    path = _write(tmp_path, full_trajectory())
    md_path, html_path = write_reports(path)
    assert (md_path, html_path) == (path.parent / "report.md", path.parent / "report.html")
    assert f"perfagent replay {path}" in md_path.read_text()
    out = tmp_path / "elsewhere"
    assert write_reports(path, out) == (out / "report.md", out / "report.html")

    result = CliRunner().invoke(
        report_command, [str(path), "--html", str(tmp_path / "a.html"), "--md", str(out / "b.md")]
    )
    assert result.exit_code == 0, result.output
    assert result.output.split() == [str(out / "b.md"), str(tmp_path / "a.html")]
    assert (tmp_path / "a.html").read_text() == render_html(full_trajectory(), path=str(path))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("{not json", "not JSON (Expecting property name"),
        ("[1, 2]", "a JSON object expected, got list"),
        (json.dumps({"format": "speedscope"}), "'format' is 'speedscope', expected"),
        (json.dumps({"format": "perfagent-trajectory", "version": 2}), "'version' 2 is not"),
        (json.dumps({"format": "perfagent-trajectory", "version": 1}), "missing keys run_id,"),
        (json.dumps({**minimal_trajectory(), "candidates": {}}), "'candidates' should be a list"),
    ],
)
def test_bad_trajectory_is_one_clear_line(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "x.traj.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(TrajectoryError) as caught:
        load_trajectory(path)
    assert str(caught.value).startswith(f"trajectory {path}: ")
    assert message in str(caught.value) and "\n" not in str(caught.value)
    result = CliRunner().invoke(report_command, [str(path)])
    assert isinstance(result.exception, TrajectoryError)


def test_trajectory_survives_a_json_round_trip(tmp_path: Path) -> None:
    traj = full_trajectory()
    loaded = load_trajectory(_write(tmp_path, copy.deepcopy(traj)))
    assert render_html(loaded) == render_html(traj)


# -- in a real browser -------------------------------------------------------------------------
def _chromium(tmp_path: Path, *args: str) -> str:
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} is not installed (scripts/setup.sh installs it)")
    argv = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}",
        *args,
    ]  # fmt: skip
    # Chromium reserves far more address space than RLIMIT_AS would allow.
    limits = Limits(timeout_s=120, memory_mb=None, output_bytes=20_000_000)
    result = run(argv, cwd=tmp_path, limits=limits, env={"HOME": str(tmp_path)})
    assert result.ok, result.summary()
    return result.stdout


def _pixels(png: bytes) -> Counter[tuple[int, int, int]]:
    """How often each RGB colour occurs in an 8-bit, non-interlaced RGB or RGBA PNG (what
    Chromium's screenshots are): chunks, inflate, undo each row's filter."""
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    pos, idat, header = 8, b"", b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, body = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert (depth, interlace) == (8, 0) and colour in (2, 6)
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    counts: Counter[tuple[int, int, int]] = Counter()
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, row = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = row[i - bpp] if i >= bpp else 0
            up, corner = previous[i], previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                row[i] = (row[i] + left) & 0xFF
            elif kind == 2:
                row[i] = (row[i] + up) & 0xFF
            elif kind == 3:
                row[i] = (row[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                near = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                row[i] = (row[i] + near) & 0xFF
        counts.update(zip(row[0::bpp], row[1::bpp], row[2::bpp], strict=True))
        previous = row
    return counts


def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    _, html_path = write_reports(_write(tmp_path, full_trajectory()))
    dom = _chromium(tmp_path, "--dump-dom", html_path.as_uri())
    assert "<td>base</td>" in dom and '<td class="num">1.800×</td>' in dom
    assert '<td class="num">[1.700, 1.900]</td>' in dom and "<code>hidden-1 (hidden)</code>" in dom
    assert dom.count("<svg") == 4 and dom.count("<rect") > 10
    # The distribution plot and the differential flame graph are in the page the browser
    # built (not just in the file), with a dot per run and a frame per function.
    assert dom.count('class="distribution"') == 1 and dom.count("<circle") == 2 * 3 * 24
    diff = dom.split('class="flamegraph diff"')[1].split("</svg>")[0]
    assert "_seen (dedupe/core.py) — before 50.00% → after 9.09%" in diff
    # No script anywhere, and the policy that forbids them reached the browser unchanged.
    assert "<script" not in dom.lower()
    policy = re.findall(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)"', dom)
    assert policy == [CSP]

    png = tmp_path / "report.png"
    _chromium(tmp_path, f"--screenshot={png}", "--window-size=1280,5600", html_path.as_uri())
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 50_000

    # Each figure, as the browser serialised it, drawn on its own (small screenshots keep the
    # pure-Python PNG decoding quick): colours only these figures use fill visible areas.
    def near(rgb: tuple[int, int, int]) -> Callable[[tuple[int, int, int]], bool]:
        return lambda c: max(abs(a - b) for a, b in zip(c, rgb, strict=True)) <= 2

    for css_class, checks in (
        # The CI bands of the expert and candidate rows (their colours at 14 % over white).
        ("distribution", [near((237, 230, 250)), near((223, 237, 227))]),
        # Frames that grew (red) and shrank (blue), white-to-saturated by the change.
        (
            "flamegraph diff",
            [
                lambda c: c[0] == 250 and c[1] == c[2] < 200,
                lambda c: c[2] == 250 and c[0] == c[1] < 200,
            ],
        ),
    ):
        svg = re.search(rf'<svg [^>]*class="{css_class}".*?</svg>', dom, re.S)
        assert svg is not None, css_class
        ET.fromstring(svg.group())  # what the browser holds is a well-formed SVG
        figure = tmp_path / f"{css_class.replace(' ', '-')}.svg"
        figure.write_text(svg.group(), encoding="utf-8")
        shot = tmp_path / f"{figure.stem}.png"
        # Headless Chromium's viewport is shorter than its window: room to spare below.
        height = int(float(ET.fromstring(svg.group()).attrib["height"])) + 200
        _chromium(tmp_path, f"--screenshot={shot}", f"--window-size=1200,{height}", figure.as_uri())
        pixels = _pixels(shot.read_bytes())
        for check in checks:
            assert sum(n for c, n in pixels.items() if check(c)) > 400, pixels.most_common(8)


def test_a_profile_without_hotspots_says_why_instead_of_an_empty_table() -> None:
    from perfagent.agent.report.facts import no_hotspots_reason
    from perfagent.agent.report.markdown import md_hotspots

    too_brief = {"total_samples": 0, "hotspots": []}
    assert "too briefly" in md_hotspots(too_brief)
    assert no_hotspots_reason({"total_samples": 9, "hotspots": []}) is not None
    assert no_hotspots_reason({"total_samples": 9, "hotspots": [{"qualname": "f"}]}) is None
