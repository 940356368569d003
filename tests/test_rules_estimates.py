"""What a rule candidate is expected to save: the own cost of the lines it changes, the
rewrite's own saving (little for aliasing builtins), and the lab's smallest verifiable effect
deciding between measuring a rewrite alone and stacking it with others."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfagent.agent.proposers.base import ProposalRequest
from perfagent.agent.proposers.rules import (
    SMALLEST_VERIFIABLE_SAVING,
    RuleProposer,
    ranked,
    targets_from,
)
from perfagent.tools.profile import Hotspot
from perfagent.tools.rules import ALIAS_SAVING, apply_rule, expected_saving, rewrite_saving

# Line 9 scans a list (its own cost); line 11 spends its time in helper(), a repo function.
CALLEE_BOUND = """\
def helper(name):
    return name.upper()


def scan(names):
    known = ["a", "b", "c"]
    out = []
    for name in names:
        if name in known:
            out.append(name)
        out.append(len(helper(name)))
    return out
"""

ARITHMETIC = """\
def scaled(values, factor: float, offset: float):
    out = []
    for v in values:
        out.append(v * factor * offset + factor * offset)
    return out
"""

TWO_SMALL = """\
def first(d, xs):
    n = 0
    for x in xs:
        if x in d.keys():
            n += 1
    return n


def second(d, xs):
    n = 0
    for x in xs:
        if x in d.keys():
            n += 1
    return n
"""


def test_aliasing_builtins_saves_little_hoisting_arithmetic_keeps_its_figure() -> None:
    aliased = apply_rule(CALLEE_BOUND, "scan", "hoist-loop-invariant")
    assert aliased is not None and "_len = len" in aliased
    assert rewrite_saving("hoist-loop-invariant", CALLEE_BOUND, aliased) == ALIAS_SAVING
    hoisted = apply_rule(ARITHMETIC, "scaled", "hoist-loop-invariant")
    assert hoisted is not None and "factor * offset" in hoisted
    assert rewrite_saving("hoist-loop-invariant", ARITHMETIC, hoisted) == expected_saving(
        "hoist-loop-invariant"
    )
    assert rewrite_saving("dict-keys-membership", TWO_SMALL, TWO_SMALL) == expected_saving(
        "dict-keys-membership"
    )


def _request(tree: Path, spots: tuple[Hotspot, ...]) -> ProposalRequest:
    return ProposalRequest(
        tree=tree, hotspots=spots, hints=(), protected=(), history=(), round=1, max_candidates=8
    )


def test_a_lookup_hoisted_from_a_line_spent_in_a_callee_is_not_measured(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(CALLEE_BOUND)
    spot = Hotspot(
        "scan", "m.py", (5, 12), 0.9, 0.1,
        hot_lines=[(11, 0.8), (9, 0.08)], savable_lines=[(9, 0.08), (11, 0.02)],
    )  # fmt: skip
    found = {c.rule_id: (c, e) for c, e in ranked(tmp_path, targets_from([spot], [], tmp_path))}
    hoist, hoist_expected = found["hoist-loop-invariant"]
    # weighed by line 11's own cost (2 %), not its inclusive 80 % spent in helper()
    assert hoist.weight == pytest.approx(0.02)
    assert hoist_expected == pytest.approx(0.02 * ALIAS_SAVING)
    member, member_expected = found["list-membership-to-set"]
    assert member.weight == pytest.approx(0.08)
    assert member_expected > SMALLEST_VERIFIABLE_SAVING
    proposed = RuleProposer().propose(_request(tmp_path, (spot,))).candidates
    assert [c.rule_id for c in proposed] == ["list-membership-to-set"]


def test_rewrites_too_small_alone_are_stacked(
    tmp_path: Path,
) -> None:
    (tmp_path / "m.py").write_text(TWO_SMALL)
    spots = (
        Hotspot("first", "m.py", (1, 6), 0.3, 0.1, hot_lines=[(4, 0.1)], savable_lines=[(4, 0.1)]),
        Hotspot(
            "second", "m.py", (9, 14), 0.3, 0.1, hot_lines=[(12, 0.1)], savable_lines=[(12, 0.1)]
        ),
    )
    each = 0.1 * expected_saving("dict-keys-membership")
    assert each < SMALLEST_VERIFIABLE_SAVING
    [stacked] = RuleProposer().propose(_request(tmp_path, spots)).candidates
    assert stacked.id.startswith("rules-stacked-")
    assert stacked.rule_id == "dict-keys-membership+dict-keys-membership"
    assert stacked.diff.count("in d:") == 2
    # A lone small rewrite is not measured: nothing is proposed.
    assert RuleProposer().propose(_request(tmp_path, spots[:1])).candidates == []
