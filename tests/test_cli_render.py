"""The end of ``perfagent optimize`` as people read it: the headline over every workload."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from perfagent.agent.cli.render import render_run


def _workload(name: str, speedup: float, expert: float | None = 2.5) -> dict[str, Any]:
    ci = [round(speedup - 0.1, 3), round(speedup + 0.1, 3)]
    return {"workload": name, "hidden": name.startswith("hidden"), "speedup": speedup,
            "ci": ci, "verdict": "faster", "expert_speedup": expert}  # fmt: skip


def _result(per_workload: list[dict[str, Any]]) -> dict[str, Any]:
    first = per_workload[0]
    return {
        "task": "dedupe", "run_id": "r1", "speedup": first["speedup"], "ci": first["ci"],
        "verdict": "faster", "equivalent": True, "tests_passed": True, "expert_speedup": 2.5,
        "expert_ci": [2.4, 2.6], "gso_opt": False, "flags": [], "stop_reason": "max iterations",
        "usage": {}, "patch": "p.diff", "report": "report.html", "trajectory": "t.traj.json",
        "overall": {
            "workloads": len(per_workload), "verdict": "faster",
            "geomean_speedup": 2.0, "worst": min(per_workload, key=lambda w: w["speedup"]),
            "per_workload": per_workload,
        },
    }  # fmt: skip


def _render(result: dict[str, Any]) -> list[str]:
    console = Console(width=120, record=True, color_system=None)
    render_run(console, result)
    return console.export_text().splitlines()


def test_the_headline_is_the_geometric_mean_and_the_worst_with_a_row_per_workload() -> None:
    lines = _render(_result([_workload("visible", 1.6), _workload("hidden-1", 2.5)]))
    text = "\n".join(lines)
    assert "│ speedup        │ 2.000× geometric mean of 2 workloads, faster" in text
    assert "│ worst workload │ visible: 1.600× [1.500, 1.700] faster" in text
    assert "│ GSO opt        │ no " in text  # plain: a benchmark's bar, not a failure
    assert "2.500× geometric mean of 2 workloads" in text  # the expert, over the same set
    headline = text.index("worst workload")
    rows = [text.index("│ visible "), text.index("│ hidden-1 (hidden) ")]
    assert headline < rows[0] < rows[1] < text.index("report.html")
    # No empty header row: the first line under the title is the table's top border, and
    # the next one holds data.
    top = next(i for i, line in enumerate(lines) if line.startswith("┌"))
    assert lines[top + 1].startswith("│ speedup")


def test_one_workload_shows_its_speedup_and_ci_and_no_per_workload_table() -> None:
    text = "\n".join(_render(_result([_workload("visible", 1.6)])))
    assert "│ speedup      │ 1.600× [1.500, 1.700] faster" in text
    assert "per workload" not in text and "worst" not in text
    assert "│ expert       │ 2.500× [2.400, 2.600]" in text
