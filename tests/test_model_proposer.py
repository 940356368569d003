"""The model proposer with a scripted chat model on tiny real repos (real libcst, real git)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from perfagent.agent.models import make_chat_model
from perfagent.agent.models.fake import ScriptedChatModel
from perfagent.agent.proposers.base import Attempt, Proposal, ProposalRequest
from perfagent.agent.proposers.model import ModelProposer
from perfagent.agent.proposers.repo_tools import BUDGET_EXHAUSTED
from perfagent.agent.proposers.rules import file_diff
from perfagent.tools.edit import default_protected
from perfagent.tools.profile import Hotspot

CALC = """\
def total(n):
    values = []
    for i in range(n):
        values = values + [i * i]
    return sum(values)


def helper(x):
    return total(x) + 1


def count(items, wanted):
    found = 0
    for item in items:
        if item in list(wanted):
            found += 1
    return found
"""
FAST_TOTAL = CALC.replace(
    "    values = []\n    for i in range(n):\n        values = values + [i * i]\n"
    "    return sum(values)\n",
    "    return sum(i * i for i in range(n))\n",
)
GOOD = """\
Summary: sum a generator instead of rebuilding the list on every step

calc.py
<<<<<<< SEARCH
    values = []
    for i in range(n):
        values = values + [i * i]
    return sum(values)
=======
    return sum(i * i for i in range(n))
>>>>>>> REPLACE
"""
REWRITE_COUNT = """\
Summary: build the set of wanted items once

calc.py::count
```python
def count(items, wanted):
    wanted = set(wanted)
    return sum(1 for item in items if item in wanted)
```
"""
TOTAL = Hotspot("total", "calc.py", (1, 5), 0.8, 0.6, hot_lines=[(4, 0.5)])
COUNT = Hotspot("count", "calc.py", (12, 17), 0.15, 0.1)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "tests").mkdir(parents=True)
    (root / "calc.py").write_text(CALC)
    (root / "tests" / "test_calc.py").write_text(
        "import calc\n\ndef test_total():\n    assert calc.total(4) == 14\n"
    )
    (root / "bench.py").write_text("import calc\n\ndef workload():\n    calc.total(3000)\n")
    return root


def request(repo: Path, **changes: Any) -> ProposalRequest:
    fields: dict[str, Any] = {
        "tree": repo,
        "hotspots": (TOTAL,),
        "hints": (),
        "protected": tuple(default_protected(["bench.py"])),
        "history": (),
        "round": 1,
        "max_candidates": 1,
        **changes,
    }
    return ProposalRequest(**fields)


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def git_applies(repo: Path, diff: str, tmp: Path) -> dict[str, str]:
    """Apply ``diff`` with real git to a copy of ``repo``; the copy's files after."""
    copy = tmp / "applied"
    shutil.copytree(repo, copy)
    subprocess.run(["git", "init", "-q"], cwd=copy, check=True)
    subprocess.run(["git", "apply", "-"], cwd=copy, input=diff.encode(), check=True)
    return {p.name: p.read_text() for p in copy.glob("*.py")}


def run(repo: Path, script: list[Any], **kw: Any) -> tuple[Proposal, ScriptedChatModel]:
    req = kw.pop("req", None) or request(repo)
    model = ScriptedChatModel(script, price=kw.pop("price", (0.0, 0.0)))
    before = snapshot(repo)
    proposal = ModelProposer(model, **kw).propose(req)
    assert snapshot(repo) == before, "the proposer must never write the request's tree"
    assert model.remaining == 0, "every scripted answer should have been asked for"
    return proposal, model


def test_good_edit_becomes_a_candidate(repo: Path, tmp_path: Path) -> None:
    proposal, model = run(repo, [GOOD])
    [candidate] = proposal.candidates
    assert (candidate.id, candidate.source, candidate.files) == ("model-1-1", "model", ("calc.py",))
    assert (candidate.qualname, candidate.weight) == ("total", 0.8)
    assert candidate.rationale == "sum a generator instead of rebuilding the list on every step"
    assert git_applies(repo, candidate.diff, tmp_path)["calc.py"] == FAST_TOTAL
    assert proposal.errors == []
    [call] = proposal.calls
    assert (call.provider, call.model, call.purpose, call.response) == (
        "fake",
        "scripted",
        "propose",
        GOOD,
    )
    system, user = call.messages
    assert "tests/**" in system["content"] and "bench.py" in system["content"]
    assert "Never special-case particular inputs" in system["content"]
    assert "A cache is legitimate only when it is correct for every caller" in system["content"]
    assert "results that outlive the workload's own cache reset" in system["content"]
    assert "## calc.py::total (lines 1-5)" in user["content"]
    assert "values = values + [i * i]" in user["content"]
    assert " 80.0%  60.0% total calc.py:1-5; L4 50%" in user["content"]
    assert model.requests[0].tools == [
        "read_function",
        "search_repo",
        "show_callers",
        "profile_detail",
        "profile_function",
    ]


def test_unparseable_answers_give_an_error_not_a_candidate(repo: Path) -> None:
    proposal, model = run(repo, ["I would use numpy.", "Really, numpy.", "numpy!"])
    assert proposal.candidates == []
    [error] = proposal.errors
    assert error.startswith("calc.py::total: no edits: no edit blocks found")
    assert error.endswith("(after 2 repairs)") and "\n" not in error
    assert [c.purpose for c in proposal.calls] == ["propose", "repair", "repair"]
    assert "no edit blocks found" in model.requests[1].messages[-1]["content"]
    assert model.requests[1].messages[-2] == {"role": "assistant", "content": "I would use numpy."}


def test_edit_of_a_protected_test_file_is_refused(repo: Path) -> None:
    cheat = (
        "Summary: relax the test\n\ntests/test_calc.py\n<<<<<<< SEARCH\n"
        "    assert calc.total(4) == 14\n=======\n    assert True\n>>>>>>> REPLACE\n"
    )
    proposal, _ = run(repo, [cheat], max_repairs=0)
    assert proposal.candidates == []
    [error] = proposal.errors
    assert "protected path" in error and "tests/test_calc.py" in error


def test_apply_error_is_repaired_on_retry(repo: Path, tmp_path: Path) -> None:
    stale = GOOD.replace("values = values + [i * i]", "values.append(i * i)")
    proposal, model = run(repo, [stale, GOOD])
    [candidate] = proposal.candidates
    assert git_applies(repo, candidate.diff, tmp_path)["calc.py"] == FAST_TOTAL
    assert [c.purpose for c in proposal.calls] == ["propose", "repair"]
    feedback = model.requests[1].messages[-1]["content"]
    assert "not found" in feedback and "values = values + [i * i]" in feedback  # closest lines
    assert proposal.errors == []


def test_whole_function_rewrite(repo: Path, tmp_path: Path) -> None:
    req = request(repo, hotspots=(COUNT,))
    proposal, _ = run(repo, [REWRITE_COUNT], req=req)
    [candidate] = proposal.candidates
    new = git_applies(repo, candidate.diff, tmp_path)["calc.py"]
    assert "    wanted = set(wanted)\n" in new and new.startswith(CALC[:120])


def test_tools_answer_from_the_tree(repo: Path) -> None:
    calls = [
        {"name": "read_function", "arguments": {"qualname": "helper"}},
        {"name": "search_repo", "arguments": {"pattern": r"values = values \+"}},
        {"name": "profile_detail", "arguments": {"qualname": "total"}},
        {"name": "show_callers", "arguments": {"qualname": "calc.py::total"}},
        {"name": "read_function", "arguments": {"qualname": "../outside.py::f"}},
        {"name": "search_repo", "arguments": {"pattern": "("}},
        {"name": "delete_file", "arguments": {"path": "calc.py"}},
        {"name": "search_repo", "arguments": {"pattern": "(a+)+$"}},
        {"name": "show_callers", "arguments": {}},
    ]
    proposal, model = run(
        repo, [{"text": "Let me look.", "tool_calls": calls}, GOOD], max_tool_calls=9
    )
    assert len(proposal.candidates) == 1
    sent = model.requests[1].messages
    assert sent[2]["tool_calls"][0] == {
        "id": "call_1_1",
        "name": "read_function",
        "arguments": {"qualname": "helper"},
    }
    answers = [m["content"] for m in sent[3:]]
    assert [m["tool_call_id"] for m in sent[3:]] == [f"call_1_{n}" for n in range(1, 10)]
    assert "def helper(x):" in answers[0] and "def total(n):" in answers[0]  # with its callee
    assert answers[1] == "calc.py:4:         values = values + [i * i]"
    assert "inclusive 80.0%, self 60.0%" in answers[2]
    assert "L4  50.0%  values = values + [i * i]" in answers[2]
    assert answers[3] == (
        "Call sites of total(...) in the code:\n"
        "  bench.py:4 in workload: calc.total(3000)\n"
        "  calc.py:9 in helper: return total(x) + 1\n"
        "  tests/test_calc.py:4 in test_total: assert calc.total(4) == 14"
    )
    assert answers[4] == "refused: ../outside.py is outside the repository"
    assert answers[5].startswith("invalid regular expression '('")
    assert answers[6].startswith("unknown tool 'delete_file'")
    assert answers[7].startswith("refused: '(a+)+$' nests quantifiers")
    assert answers[8] == "show_callers needs a JSON object with a string 'qualname'; got {}"
    assert proposal.calls[0].tool_calls[1]["name"] == "search_repo"


def test_profile_function_shows_every_line_with_its_share(repo: Path) -> None:
    spot = Hotspot(
        "total", "calc.py", (1, 5), 0.8, 0.6, hot_lines=[(4, 0.5), (3, 0.1)],
        savable_lines=[(4, 0.4)],
    )  # fmt: skip
    calls = [
        {"name": "profile_function", "arguments": {"qualname": "calc.py::total"}},
        {"name": "profile_function", "arguments": {"qualname": "helper"}},
    ]
    _, model = run(repo, [{"tool_calls": calls}, GOOD], req=request(repo, hotspots=(spot,)))
    shown, unprofiled = [m["content"] for m in model.requests[1].messages[3:]]
    assert shown.splitlines()[1:] == [
        "              L1     def total(n):",
        "              L2         values = []",
        " 10.0%   0.0% L3         for i in range(n):",
        " 50.0%  40.0% L4             values = values + [i * i]",
        "              L5         return sum(values)",
    ]
    assert unprofiled.startswith("helper is not among the profiled repository functions")


def test_callers_and_callees_from_profiled_stacks(repo: Path) -> None:
    def frame(name: str, line: int, file: str = "calc.py") -> dict[str, Any]:
        # Profiles name files as they were in the profiled checkout, elsewhere on disk.
        return {"name": name, "file": f"/elsewhere/worktree/{file}", "line": line}

    bench = frame("workload", 4, "bench.py")
    stacks = [
        {"frames": [bench, frame("helper", 9), frame("total", 4)], "count": 30},
        {"frames": [bench, frame("total", 4)], "count": 10},
    ]
    detail = {"stacks": stacks, "collapsed": ["workload (/x/bench.py:4);total (/x/calc.py:5) 5"]}
    calls = [
        {"name": "show_callers", "arguments": {"qualname": "total"}},
        {"name": "profile_detail", "arguments": {"qualname": "helper"}},
        {"name": "profile_detail", "arguments": {"qualname": "total"}},
    ]
    req = request(repo, profile_detail=detail, hotspots=(TOTAL,))
    _, model = run(repo, [{"tool_calls": calls}, GOOD], req=req)
    callers, helper, total = (m["content"] for m in model.requests[1].messages[3:])
    assert "Callers in the profiled stacks (45 samples through total):" in callers
    assert " 66.7% helper (calc.py:9)" in callers
    assert " 33.3% workload (bench.py:4)" in callers
    assert helper.startswith("helper is not among the profiled repository functions")
    assert "Where its time goes" not in total  # total is the leaf of every stack


def test_tool_budget_is_enforced(repo: Path) -> None:
    look = {"name": "search_repo", "arguments": {"pattern": "def"}}
    proposal, model = run(repo, [{"tool_calls": [look, look, look]}, GOOD], max_tool_calls=2)
    answers = [m["content"] for m in model.requests[1].messages[3:]]
    assert answers[2] == BUDGET_EXHAUSTED and BUDGET_EXHAUSTED not in answers[:2]
    assert len(proposal.candidates) == 1


def test_a_model_that_keeps_calling_tools_is_stopped(repo: Path) -> None:
    look = {"tool_calls": [{"name": "search_repo", "arguments": {"pattern": "def"}}]}
    proposal, _ = run(repo, [look, look, look], max_tool_calls=1)
    assert proposal.candidates == []
    assert proposal.errors == [
        "calc.py::total: the model kept calling tools after its budget of 1 calls"
    ]


def test_history_appears_in_the_prompt(repo: Path) -> None:
    history = (
        Attempt("rules-1", "total", "list-concat", "tests", "tests failed: test_total", "-a\n+b\n"),
        Attempt("model-1-1", "count", None, "verdict", "slower 0.91× [0.88, 0.95]", "", 0.91),
    )
    _, model = run(repo, [GOOD], req=request(repo, history=history, round=2))
    user = model.requests[0].messages[1]["content"]
    assert "- rules-1 on total (list-concat): rejected at tests: tests failed: test_total" in user
    assert (
        "- model-1-1 on count (model edit): rejected at verdict, 0.91×: slower 0.91× [0.88, 0.95]"
        in user
    )
    assert "The diff of rules-1 (tests):\n-a\n+b" in user


HELPER = """\
Summary: add in the other order

calc.py::helper
```python
def helper(x):
    return 1 + total(x)
```
"""


def test_candidates_are_diversified_and_costs_recorded(repo: Path) -> None:
    req = request(repo, hotspots=(TOTAL, COUNT), max_candidates=4, hints=("calc.py::helper",))
    closed_form = GOOD.replace("sum a generator", "use the closed form").replace(
        "    return sum(i * i for i in range(n))", "    return (n - 1) * n * (2 * n - 1) // 6"
    )
    script = [GOOD, REWRITE_COUNT, HELPER, closed_form]
    proposal, model = run(repo, script, req=req, price=(1.0, 2.0))
    # Every target (hot functions, then the hinted one) once, then again at the next temperature.
    assert [(c.id, c.qualname) for c in proposal.candidates] == [
        ("model-1-1", "total"),
        ("model-1-2", "count"),
        ("model-1-3", "helper"),
        ("model-1-4", "total"),
    ]
    assert [r.temperature for r in model.requests] == [0.2, 0.2, 0.2, 0.7]
    last = model.requests[3].messages[1]["content"]
    assert "already do the following; take a different approach:" in last
    assert "- sum a generator instead of rebuilding the list on every step" in last
    assert "different approach" not in model.requests[0].messages[1]["content"]
    tokens_in = sum(c.input_tokens for c in proposal.calls)
    tokens_out = sum(c.output_tokens for c in proposal.calls)
    assert tokens_in > 0 and tokens_out > 0
    total = sum(c.cost_usd or 0.0 for c in proposal.calls)
    assert total == pytest.approx((tokens_in * 1.0 + tokens_out * 2.0) / 1e6)


def test_budget_hook_stops_between_calls(repo: Path) -> None:
    model = ScriptedChatModel(["no edit here", GOOD])
    allowed = iter([True, False])
    proposer = ModelProposer(model, can_spend=lambda: next(allowed))
    proposal = proposer.propose(request(repo, max_candidates=2))
    assert proposal.candidates == []
    assert len(proposal.calls) == 1
    assert proposal.errors == ["budget reached: stopped after 1 model calls"]


def test_the_runs_cost_budget_stops_between_calls(repo: Path) -> None:
    # 1000 USD per million tokens: the first call alone costs more than the 0.01 USD left.
    model = ScriptedChatModel(["no edit here", GOOD], price=(1000.0, 1000.0))
    proposal = ModelProposer(model).propose(request(repo, max_candidates=2, budget_usd=0.01))
    assert proposal.candidates == []
    assert len(proposal.calls) == 1 and (proposal.calls[0].cost_usd or 0) > 0.01
    assert proposal.errors == ["budget reached: stopped after 1 model calls"]


def test_model_errors_end_the_round_without_raising(repo: Path) -> None:
    proposal, _ = run(repo, [{"error": "authentication failed (401)"}], req=request(repo))
    assert proposal.candidates == []
    assert proposal.errors == ["script: authentication failed (401)"]
    [call] = proposal.calls
    assert call.error == "script: authentication failed (401)" and call.response == ""


def test_a_script_that_runs_out_is_an_error(repo: Path) -> None:
    model = ScriptedChatModel([GOOD])
    proposal = ModelProposer(model).propose(request(repo, max_candidates=2))
    assert len(proposal.candidates) == 1
    assert proposal.errors == ["script: the script has no response left (all 1 were used)"]


def test_duplicate_answers_are_dropped(repo: Path) -> None:
    proposal, _ = run(repo, [GOOD, GOOD], req=request(repo, max_candidates=2))
    assert [c.id for c in proposal.candidates] == ["model-1-1"]
    assert proposal.errors == ["calc.py::total: the answer repeats model-1-1"]


def test_no_target_is_an_error(repo: Path) -> None:
    test_spot = Hotspot("test_total", "tests/test_calc.py", (3, 4), 0.9, 0.9)
    proposal, _ = run(repo, [], req=request(repo, hotspots=(test_spot,)))
    assert proposal.errors == ["no target: no unprotected hot function and no usable hint"]
    assert proposal.calls == []


def test_fake_spec_drives_the_proposer_end_to_end(repo: Path, tmp_path: Path) -> None:
    script = tmp_path / "script.yaml"
    indented = "\n".join("      " + line for line in GOOD.splitlines())
    script.write_text(
        "responses:\n  - tool_calls: [{name: read_function, arguments: {qualname: total}}]\n"
        f"  - |\n{indented}\n"
    )
    proposal = ModelProposer(make_chat_model(f"fake:{script}", env={})).propose(request(repo))
    assert [c.rationale for c in proposal.candidates] == [
        "sum a generator instead of rebuilding the list on every step"
    ]


def test_file_diff_handles_new_files_and_missing_final_newlines(repo: Path, tmp_path: Path) -> None:
    (repo / "tail.py").write_text("x = 1")
    diff = file_diff("tail.py", "x = 1", "x = 2") + file_diff("pkg/new.py", None, "y = 1\n")
    files = git_applies(repo, diff, tmp_path)
    assert files["tail.py"] == "x = 2"
    assert (tmp_path / "applied" / "pkg" / "new.py").read_text() == "y = 1\n"
