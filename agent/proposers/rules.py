"""The rule proposer: built-in libcst rewrites aimed at the profile's hot functions.

It needs no model. Each rule that fires inside a hot function becomes its own candidate,
ranked by what it may save: the own cost of the lines it rewrites (their savable share: a
hoisted lookup does not make the callee on its line faster) times the share of such lines'
time the rewrite removes (the rule's catalogue figure; little for aliasing a builtin, which
CPython 3.11+ already specialises). An index replacing a list scan on a hot line comes before
aliasing a builtin on a hotter one, and a rewrite of a cold loop in a hot function comes
last. A rewrite expected to save less than the lab can verify alone is not measured alone:
such rewrites are stacked into one candidate (a lone one is not proposed).
Rewrites that were measured *promising* (faster by the point estimate, but too small to be
called faster alone) are stacked into one combined candidate, proposed first: several 2-4 %
gains together can pass where none does alone. Whether a candidate is kept is never decided
here: the lab measures it.
"""

from __future__ import annotations

import ast
import difflib
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from perfagent.agent.proposers.base import Attempt, Proposal, ProposalRequest
from perfagent.agent.types import Candidate
from perfagent.tools.bench.session import SessionConfig
from perfagent.tools.edit.checks import file_diff
from perfagent.tools.edit.locate import cached_functions, find_function
from perfagent.tools.edit.paths import matches_glob
from perfagent.tools.errors import PerfagentError
from perfagent.tools.profile import Hotspot
from perfagent.tools.rules import INCLUSIVE_RULES, RULES, apply_rule, rewrite_saving

DEFAULT_TOP = 8  # hot functions a model is shown
# Hot functions the rules scan: a rule costs milliseconds per function, and with ~150
# samples per profile the order below the top few shifts from run to run.
RULES_TOP = 16
_UNDECIDED = ("inconclusive", "same")  # verdicts of a rewrite too small to keep alone
# A rewrite is promising from 1 % by the point estimate: below that, what it adds to a
# combination is mostly noise (a hoisted lookup in a cold loop measured 1.001×).
PROMISING_SPEEDUP = 1.01
MIN_WEIGHT = 0.02  # functions with less inclusive share are not worth a candidate
# The smallest saving (share of the workload's time) the lab can call ``faster``: its verdict
# needs a speedup of at least 1 + min_effect. A rewrite expected to save less is not measured
# alone (a screen and a verdict for a likely ``same``); such rewrites are stacked instead.
SMALLEST_VERIFIABLE_SAVING = 1 - 1 / (1 + SessionConfig().min_effect)


@dataclass(frozen=True)
class Target:
    file: str  # repo-relative
    qualname: str
    weight: float  # the function's inclusive share
    line_shares: tuple[tuple[int, float], ...] = ()  # (line, share) the profile sampled
    span: tuple[int, int] = (0, 0)  # the function's first and last line, (0, 0) if unknown
    # (line, savable share): each line's own cost, without the repo functions it calls
    own_lines: tuple[tuple[int, float], ...] = ()


def changed_lines(old: str, new: str) -> set[int]:
    """1-based lines of ``old`` that ``new`` replaces or deletes (pure insertions change
    no old line)."""
    matcher = difflib.SequenceMatcher(None, old.splitlines(), new.splitlines(), autojunk=False)
    changed: set[int] = set()
    for tag, i1, i2, _, _ in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            changed.update(range(i1 + 1, i2 + 1))
    return changed


@functools.lru_cache(maxsize=8)
def _syntax_tree(source: str) -> ast.Module:
    """One parse per file per proposal: every rewrite of it is weighed on it (read only)."""
    return ast.parse(source)


def affected_lines(old: str, changed: set[int], span: tuple[int, int]) -> set[int]:
    """The changed lines, and the lines in ``span`` that read a name those lines bind: a
    list made a set on one line speeds up the membership tests on others."""
    tree = _syntax_tree(old)
    bound = {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign) and node.lineno in changed
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name)
    }
    first, last = span if span != (0, 0) else (1, len(old.splitlines()))
    uses = {
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Name)
        and isinstance(node.ctx, ast.Load)
        and node.id in bound
        and first <= node.lineno <= last
    }
    return changed | uses


def rewrite_weight(target: Target, old: str, new: str, rule_id: str | None = None) -> float:
    """The share of samples a rewrite can remove: on the lines it affects, their own cost
    (``Target.own_lines``: a hoisted lookup does not make the callee on its line faster),
    or their inclusive share for rules that skip whole evaluations (``INCLUSIVE_RULES``) and
    for profiles without own-cost facts; the function's share when the profile has no line
    numbers (native stacks, or a hinted function it never sampled). Never more than the
    function's share: one sample can be on two of its lines (a call on one line into a
    generator defined on another)."""
    if not target.line_shares:
        return target.weight
    own = rule_id not in INCLUSIVE_RULES and bool(target.own_lines)
    shares = dict(target.own_lines if own else target.line_shares)
    lines = affected_lines(old, changed_lines(old, new), target.span)
    return min(target.weight, sum(shares.get(line, 0.0) for line in lines))


def targets_from(
    hotspots: Sequence[Hotspot],
    hints: Iterable[str],
    repo: Path,
    *,
    protected: Sequence[str] = (),
    top: int = DEFAULT_TOP,
) -> list[Target]:
    """Hot repo functions in the profile's order (savable time), then the task's hinted
    targets not yet seen. Functions in protected files (tests, workloads) and pass-through
    frames (wrappers, dispatchers: nothing to save in them) are never targets."""
    chosen: dict[tuple[str, str], Target] = {}
    for spot in [s for s in hotspots if not s.passthrough][:top]:
        if any(matches_glob(spot.file, pattern) for pattern in protected):
            continue
        if spot.inclusive >= MIN_WEIGHT and spot.qualname != "<module>":
            target = Target(
                spot.file,
                spot.qualname,
                spot.inclusive,
                tuple(spot.hot_lines),
                spot.lines,
                tuple(spot.savable_lines),
            )
            chosen.setdefault((spot.file, spot.qualname), target)
    for hint in hints:
        try:
            info = find_function(repo, hint)
        except PerfagentError:
            continue  # a stale hint is not the user's error here
        if info.path is None:
            continue
        path = Path(info.path) if Path(info.path).is_absolute() else repo / info.path
        file = str(path.resolve().relative_to(repo.resolve()))
        if any(matches_glob(file, pattern) for pattern in protected):
            continue
        chosen.setdefault((file, info.qualname), Target(file, info.qualname, 0.0))
    return list(chosen.values())


def propose(
    repo: Path, targets: Sequence[Target], rule_ids: Sequence[str] | None = None
) -> list[Candidate]:
    """Every rule that fires in every target, as separate candidates, best first (see
    ``ranked``)."""
    return [candidate for candidate, _ in ranked(repo, targets, rule_ids)]


def ranked(
    repo: Path, targets: Sequence[Target], rule_ids: Sequence[str] | None = None
) -> list[tuple[Candidate, float]]:
    """Every rule that fires in every target with the share of the workload's time it may
    save (``rewrite_weight`` × ``tools.rules.rewrite_saving``: the share of such lines'
    time the rewrite removes), best first: by that, then the function's share, then the
    rules' order."""
    found: list[tuple[float, float, Candidate]] = []
    for target in sorted(targets, key=lambda t: -t.weight):
        source = (repo / target.file).read_text(encoding="utf-8")
        for rule_id in rule_ids or list(RULES):
            new = apply_rule(source, target.qualname, rule_id)
            if new is None or new == source:
                continue
            candidate = Candidate(
                id="",
                source="rules",
                diff=file_diff(target.file, source, new),
                files=(target.file,),
                qualname=target.qualname,
                rule_id=rule_id,
                rationale=RULES[rule_id].rationale,
                weight=rewrite_weight(target, source, new, rule_id),
            )
            expected = candidate.weight * rewrite_saving(rule_id, source, new)
            found.append((expected, target.weight, candidate))
    found.sort(key=lambda item: (-item[0], -item[1]))  # stable: rule order breaks ties
    return [
        (replace(c, id=f"rules-{n}"), expected) for n, (expected, _, c) in enumerate(found, start=1)
    ]


def combine(repo: Path, parts: Sequence[Candidate]) -> Candidate | None:
    """One candidate applying several rule candidates in order (a later one is skipped when
    an earlier rewrite already removed its pattern)."""
    sources: dict[str, str] = {}
    applied: list[Candidate] = []
    for part in _in_source_order(repo, parts):
        if part.rule_id is None or len(part.files) != 1:
            continue
        file = part.files[0]
        current = sources.get(file) or (repo / file).read_text(encoding="utf-8")
        new = apply_rule(current, part.qualname, part.rule_id)
        if new is None or new == current:
            continue
        sources[file] = new
        applied.append(part)
    if len(applied) < 2:
        return None
    diff = "".join(
        file_diff(f, (repo / f).read_text(encoding="utf-8"), new) for f, new in sources.items()
    )
    return Candidate(
        id="rules-combined-" + "+".join(p.id for p in applied),
        source="rules",
        diff=diff,
        files=tuple(sources),
        qualname=",".join(dict.fromkeys(p.qualname for p in applied)),
        rule_id="+".join(p.rule_id or "" for p in applied),
        rationale="; ".join(dict.fromkeys(p.rationale for p in applied)),
        weight=max(p.weight for p in applied),
    )


def _in_source_order(repo: Path, parts: Sequence[Candidate]) -> list[Candidate]:
    """``parts`` with functions taken top to bottom in each file, so a rewrite reuses what
    one above it added (a compiled pattern); rewrites of one function keep their order
    (the more promising first, which wins when two touch the same code)."""

    def position(part: Candidate) -> tuple[str, int]:
        if not part.files:
            return "", 0
        file = part.files[0]
        lines = {f.qualname: f.start_line for f in cached_functions(repo / file)}
        return file, lines.get(part.qualname, 0)

    return sorted(parts, key=position)


class RuleProposer:
    """The built-in proposer (no model): every rule that fires in the hot functions."""

    name = "rules"

    def __init__(self, rule_ids: Sequence[str] | None = None, top: int = RULES_TOP) -> None:
        self.rule_ids = list(rule_ids) if rule_ids else None
        self.top = top

    def propose(self, request: ProposalRequest) -> Proposal:
        targets = targets_from(
            request.hotspots,
            request.hints,
            request.tree,
            protected=request.protected,
            top=self.top,
        )
        tried = {attempt.diff for attempt in request.history}
        found = [
            (c, e) for c, e in ranked(request.tree, targets, self.rule_ids) if c.diff not in tried
        ]
        fresh = [c for c, expected in found if expected >= SMALLEST_VERIFIABLE_SAVING]
        measured = {(a.rule_id, a.qualname) for a in request.history if a.speedup is not None}
        # New rewrites first; the same rule on the same function again (the baseline moved)
        # after them, since it was measured once already.
        fresh.sort(key=lambda c: (c.rule_id, c.qualname) in measured)
        combined = self._combined(request, tried)
        small = _stacked_small(request.tree, found, tried)
        stacks = [c for c in (combined, small) if c is not None]
        candidates = stacks + fresh
        return Proposal(candidates=candidates[: request.max_candidates])

    def _combined(self, request: ProposalRequest, tried: set[str]) -> Candidate | None:
        """The promising rewrites of earlier rounds, redone on this tree and stacked."""
        parts: list[Candidate] = []
        for attempt in _promising(request.history):
            file = _file_of(attempt.diff)
            if file is None or attempt.rule_id is None:
                continue
            target = Target(file, attempt.qualname, 0.0)
            parts += propose(request.tree, [target], [attempt.rule_id])
        combined = combine(request.tree, parts)
        if combined is None or combined.diff in tried:
            return None
        return combined


def _stacked_small(
    repo: Path, found: Sequence[tuple[Candidate, float]], tried: set[str]
) -> Candidate | None:
    """The rewrites each expected to save less than the lab can verify alone, stacked into
    one candidate (one measurement instead of one each; the estimates are priors, and a
    window rule's gain grows with the window); none when fewer than two apply together."""
    small = [c for c, e in found if e < SMALLEST_VERIFIABLE_SAVING]
    stacked = combine(repo, small)
    if stacked is None or stacked.diff in tried:
        return None
    return replace(stacked, id=stacked.id.replace("rules-combined-", "rules-stacked-", 1))


def _promising(history: Sequence[Attempt]) -> list[Attempt]:
    """Single-rule attempts measured at least 1 % faster by the point estimate but not
    significantly so, each (rule, function) once, the most promising first."""
    best: dict[tuple[str, str], Attempt] = {}
    for attempt in history:
        rule, speedup = attempt.rule_id, attempt.speedup
        if rule is None or "+" in rule or speedup is None or speedup < PROMISING_SPEEDUP:
            continue
        if attempt.outcome not in ("screen", "verdict"):
            continue
        if attempt.rejected_for != "speed" or attempt.verdict not in _UNDECIDED:
            continue
        key = (rule, attempt.qualname)
        if key not in best or speedup > (best[key].speedup or 0.0):
            best[key] = attempt
    return sorted(best.values(), key=lambda a: -(a.speedup or 0.0))


def _file_of(diff: str) -> str | None:
    """The one file a rule candidate's diff changes."""
    files = {line[6:] for line in diff.splitlines() if line.startswith("+++ b/")}
    return files.pop() if len(files) == 1 else None
