"""Prompts for proposing an optimisation of one hot function, and for repairing a failed edit.

The request holds raw facts (hotspots, profile JSON, attempts); they are put into words only
here, so a prompt can change without touching the loop or the trajectory format.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from perfagent.agent.models.base import Message
from perfagent.agent.proposers.base import Attempt, ProposalRequest
from perfagent.tools.profile import Hotspot, Profile, summary_text

SYSTEM = """\
You are a performance engineer. You make Python code in a repository faster without \
changing what it does.

Rules:
- Behaviour must stay identical for every input, not only the ones the workload uses: the \
same results, the same exceptions, the same side effects and output, the same public names \
and signatures.
- Never edit tests, benchmarks or workload files. These paths are protected and any edit to \
them is refused: {protected}.
- Never special-case particular inputs (no branch or table for the values the workload \
happens to use): the benchmark would reward it, the users would not.
- A cache is legitimate only when it is correct for every caller: a pure function of \
hashable, immutable arguments; bounded (e.g. functools.lru_cache with a maxsize); with no \
invalidation hazard (nothing it depends on can change); and cleared by the library's own \
cache-clearing hook where the library has one. Benchmark gaming, never do it: results that \
outlive the workload's own cache reset or setup(), module-level tables keyed by the \
workload's inputs, memoising the measured call itself. Any cache you add is flagged for a \
person to review, and hidden workloads with other inputs decide whether it pays.
- Prefer algorithmic gains (the right data structure, fewer passes, work hoisted out of \
loops, no repeated conversions) over micro-tweaks. Keep the code readable.
{tools}
Answer with one line `Summary: <what you changed and why it is faster>`, then the edits, in \
either format:

1. SEARCH/REPLACE blocks, copying the current lines exactly:
path/to/file.py
<<<<<<< SEARCH
    current lines
=======
    new lines
>>>>>>> REPLACE

2. A whole-function rewrite: a line `path/to/file.py::Qualified.name`, then a fenced block \
with the complete new function. Imports written in that block are added to the module; \
helper functions defined there are placed next to it.
path/to/file.py::Class.method
```python
def method(self, items):
    ...
```
"""

TOOLS = """
Read-only tools let you look at more code or profile details before answering (at most \
{n} calls for this answer): read_function, search_repo, show_callers, profile_detail, \
profile_function.
"""

EXEC_TOOLS = """
Execution tools try a draft before you answer (at most {n} calls for this answer, seconds \
each): try_edit measures it against the current code on the workload (speedup with its \
confidence interval, output equivalence, tests); run_tests runs the tests only. Give them \
the draft in the answer's format; your final answer is still the edit itself.
"""

USER = """\
Make `{qualname}` in `{file}` faster.{weight}
{focus}
{profile}

The code (imports, the function, and repository functions it calls):
{context}
{hints}{history}{earlier}"""

REPAIR = """\
{feedback}
Answer again with the `Summary:` line and the complete corrected set of edits."""

SUMMARY_RE = re.compile(r"^\s*[*_#>\s]*summary[*_]*\s*:[*_]*\s*(?P<text>.+?)\s*$", re.I | re.M)
HISTORY_LIMIT = 20  # attempts listed; older ones are counted
DIFF_LINES = 20  # lines of an earlier diff on the same function shown


def system_prompt(protected: Sequence[str], *, max_tool_calls: int, max_exec_calls: int = 0) -> str:
    tools = TOOLS.format(n=max_tool_calls) if max_tool_calls > 0 else ""
    tools += EXEC_TOOLS.format(n=max_exec_calls) if max_exec_calls > 0 else ""
    return SYSTEM.format(protected=", ".join(protected) or "(none)", tools=tools)


def _hotspot(data: Mapping[str, Any]) -> Hotspot | None:
    try:
        return Hotspot.from_json(data)
    except (KeyError, TypeError, ValueError, IndexError):
        return None


def profile_summary(
    hotspots: Sequence[Hotspot], detail: Mapping[str, Any], *, token_budget: int = 800
) -> str:
    """``tools.profile.summary_text`` of the request's facts; a plain list of hotspots when
    the request carries no profile document."""
    if "workload" in detail and "total_samples" in detail:
        external = [h for d in detail.get("external", []) if (h := _hotspot(d)) is not None]
        profile = Profile(
            backend=str(detail.get("backend", "py-spy")),
            workload=str(detail["workload"]),
            total_samples=int(detail["total_samples"]),
            rate_hz=int(detail.get("rate_hz", 0)),
            duration_s=float(detail.get("duration_s", 0.0)),
            native=bool(detail.get("native", False)),
            hotspots=list(hotspots),
            external=external,
            outside_share=dict(detail.get("outside_share", {})),
            sample_floor=int(detail.get("sample_floor", 0)),
            ranked=bool(detail.get("ranked", True)),
        )
        return summary_text(profile, token_budget=token_budget)
    if not hotspots:
        return "No profile is available."
    rows = [
        "Hot functions in the repository (inclusive% self% qualname file:lines; hottest lines):"
    ]
    for s in hotspots[:15]:
        hot = ", ".join(f"L{line} {share:.0%}" for line, share in s.hot_lines[:3])
        where = f"{s.file}:{s.lines[0]}-{s.lines[1]}"
        rows.append(f"{s.inclusive:6.1%} {s.self:6.1%} {s.qualname} {where}; {hot}")
    return "\n".join(rows)


def _attempt_line(a: Attempt) -> str:
    what = a.rule_id or "model edit"
    speed = f", {a.speedup:.2f}×" if a.speedup is not None else ""
    accepted = a.outcome == "accepted"
    state = "accepted (already in the code shown)" if accepted else f"rejected at {a.outcome}"
    return f"- {a.candidate_id} on {a.qualname} ({what}): {state}{speed}: {a.reason}"


def history_text(history: Sequence[Attempt], qualname: str) -> str:
    """Earlier attempts, one line each; the diffs of the last two on this function."""
    if not history:
        return ""
    shown = history[-HISTORY_LIMIT:]
    lines = ["Earlier attempts in this run (do not repeat what failed or was not faster):"]
    if len(history) > len(shown):
        lines.append(f"({len(history) - len(shown)} older attempts not shown)")
    lines += [_attempt_line(a) for a in shown]
    same = [a for a in history if a.qualname == qualname and a.diff.strip()][-2:]
    for a in same:
        diff = a.diff.splitlines()
        more = f"\n… ({len(diff) - DIFF_LINES} more lines)" if len(diff) > DIFF_LINES else ""
        lines.append(
            f"The diff of {a.candidate_id} ({a.outcome}):\n" + "\n".join(diff[:DIFF_LINES]) + more
        )
    return "\n".join(lines) + "\n\n"


def target_facts(hotspots: Sequence[Hotspot], file: str, qualname: str) -> str:
    """The target's own profile facts: the share an edit of it can remove, how the workload
    reaches it, and its lines' own cost (what a rewrite of each line can save)."""
    spot = next((h for h in hotspots if h.file == file and h.qualname == qualname), None)
    if spot is None or not spot.samples_savable:
        return ""
    out = [
        f"An edit of it can remove at most {spot.savable:.0%} of the time: its own code and"
        " its lines' calls into code outside the repository."
    ]
    if len(spot.call_path) > 1:
        path = " → ".join(["workload", *spot.call_path])
        out.append(f"The workload reaches it through {path} ({spot.call_path_share:.0%}).")
    if spot.savable_lines:
        lines = ", ".join(f"L{line} {share:.1%}" for line, share in spot.savable_lines[:6])
        out.append(f"Its lines' own cost (share of all samples): {lines}.")
    return "\n".join(out) + "\n"


def user_prompt(
    request: ProposalRequest,
    *,
    file: str,
    qualname: str,
    weight: float,
    context: str,
    earlier: Sequence[str] = (),
) -> str:
    """``earlier``: summaries of the candidates already proposed for this function in this
    round, so the next answer takes a different approach."""
    hints = ""
    if request.hints:
        hints = "The task names these target functions: " + ", ".join(request.hints) + "\n\n"
    others = ""
    if earlier:
        others = (
            "Other candidates for this function this round already do the following; take a"
            " different approach:\n" + "\n".join(f"- {e}" for e in earlier) + "\n"
        )
    return (
        USER.format(
            qualname=qualname,
            file=file,
            weight=f" It takes {weight:.0%} of the workload's time (inclusive)." if weight else "",
            focus=target_facts(request.hotspots, file, qualname),
            profile=profile_summary(request.hotspots, request.profile_detail),
            context=context.rstrip() + "\n",
            hints=hints,
            history=history_text(request.history, qualname),
            earlier=others,
        ).rstrip()
        + "\n"
    )


def propose_messages(
    request: ProposalRequest,
    *,
    file: str,
    qualname: str,
    weight: float,
    context: str,
    max_tool_calls: int,
    max_exec_calls: int = 0,
    earlier: Sequence[str] = (),
) -> list[Message]:
    return [
        {
            "role": "system",
            "content": system_prompt(
                request.protected, max_tool_calls=max_tool_calls, max_exec_calls=max_exec_calls
            ),
        },
        {
            "role": "user",
            "content": user_prompt(
                request,
                file=file,
                qualname=qualname,
                weight=weight,
                context=context,
                earlier=earlier,
            ),
        },
    ]


def repair_message(feedback: str) -> Message:
    return {"role": "user", "content": REPAIR.format(feedback=feedback.rstrip())}


def summary_of(text: str, limit: int = 200) -> str:
    """The answer's one-line ``Summary:``, or ""."""
    match = SUMMARY_RE.search(text)
    if match is None:
        return ""
    line = match["text"].strip().strip("*_`").strip()
    return line if len(line) <= limit else line[: limit - 1] + "…"
