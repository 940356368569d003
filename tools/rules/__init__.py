"""Rule transforms: libcst codemods for known CPython performance anti-patterns.

Each rule rewrites one function (by ``__qualname__``) and may add module-level statements
(a compiled pattern) just above it. Rules are conservative: they fire only where the rewrite
keeps behaviour under the policy stated in their module docstring; the measurement lab then
keeps a rewrite only if it is faster and equivalent. No model is involved.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable
from dataclasses import dataclass

import libcst as cst

from perfagent.tools.rules import (
    any_all,
    dict_keys,
    linear_search,
    list_concat,
    list_index_to_dict,
    list_membership,
    loop_invariant,
    regex_match_at_pos,
    regex_once,
    sorted_index,
    string_concat,
    window_aggregate,
)
from perfagent.tools.rules._base import FunctionRewriter, rewrite_function
from perfagent.tools.rules._window_helper import HELPER_SOURCE as _WINDOW_HELPER_SOURCE

# The module-level functions rules add, verbatim. The reward-hack guard trusts exactly these
# (compared as syntax trees): the regex helper's bounded cache of compiled patterns is what
# ``re`` itself does, not a memo of results, and must not flag our own rewrite.
HELPER_SOURCES: tuple[str, ...] = (regex_match_at_pos.HELPER_SOURCE, _WINDOW_HELPER_SOURCE)


@dataclass(frozen=True)
class Rule:
    id: str  # kebab-case
    title: str
    rationale: str  # one line, shown in reports
    safety: str  # when it fires and when it must not
    transform: Callable[[cst.Module, str], tuple[cst.Module, int]]


def _transform(rewriter: FunctionRewriter) -> Callable[[cst.Module, str], tuple[cst.Module, int]]:
    def transform(module: cst.Module, qualname: str) -> tuple[cst.Module, int]:
        return rewrite_function(module, qualname, rewriter)

    return transform


RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in [
        Rule(
            id="linear-search-to-index",
            title="Index a list once instead of scanning it in a loop",
            rationale=linear_search.RATIONALE,
            safety=(
                "Fires on next((p for p in xs if p[K] == v), default) and "
                "[p for p in xs if p[K] == v] inside a loop when xs is a list/tuple/Sequence "
                "parameter the loop does not otherwise touch; keys must be hashable."
            ),
            transform=_transform(linear_search.transform),
        ),
        Rule(
            id="list-index-to-dict",
            title="A dict of first positions instead of list.index",
            rationale=list_index_to_dict.RATIONALE,
            safety=(
                "Fires when a local list of unique elements (every append guarded by a 'not in' "
                "test) is read only by in/not in and guarded .index(x); not otherwise."
            ),
            transform=_transform(list_index_to_dict.transform),
        ),
        Rule(
            id="regex-slice-to-pos",
            title="Match at a position instead of slicing the string",
            rationale=regex_match_at_pos.RATIONALE,
            safety=(
                "Fires on re.match/search/fullmatch(p, s[i:]) in a loop when the match is only "
                "truth-tested or read with group()/groups(); patterns that could see text "
                "before i (^, \\A, \\b, lookbehind) keep slicing at run time."
            ),
            transform=_transform(regex_match_at_pos.transform),
        ),
        Rule(
            id="list-membership-to-set",
            title="Use a set for membership tests",
            rationale=list_membership.RATIONALE,
            safety=(
                "Fires when a local list is only built by append() and read by in/not in; not "
                "if it is indexed, iterated, returned, passed on, rebound or holds unhashables."
            ),
            transform=_transform(list_membership.transform),
        ),
        Rule(
            id="compile-regex-once",
            title="Compile constant regular expressions once",
            rationale=regex_once.RATIONALE,
            safety=(
                "Fires on re.<fn>(literal or module constant, ...) with constant flags when re "
                "is imported at module level; never for patterns built at run time."
            ),
            transform=_transform(regex_once.transform),
        ),
        Rule(
            id="list-concat-to-append",
            title="Append instead of rebuilding a list with + in a loop",
            rationale=list_concat.RATIONALE,
            safety=(
                "Fires when xs = [...] is followed by a loop that only does xs = xs + [...] and "
                "xs is read only after the loop; not if xs is read in the loop, starts as "
                "anything but a list display, or is used from a nested function."
            ),
            transform=_transform(list_concat.transform),
        ),
        Rule(
            id="string-concat-to-join",
            title="Build strings with join instead of += in a loop",
            rationale=string_concat.RATIONALE,
            safety=(
                "Fires when s = '' is followed by a loop that only does s += ... and s is read "
                "only after the loop; not if s is read in the loop or from a nested function."
            ),
            transform=_transform(string_concat.transform),
        ),
        Rule(
            id="sorted-index-to-min-max",
            title="min/max instead of sorting for one element",
            rationale=sorted_index.RATIONALE,
            safety=(
                "Fires on sorted(x)[0] (also with key=) and sorted(x)[-1] (no key=) with a "
                "literal reverse=; empty x raises ValueError instead of IndexError."
            ),
            transform=_transform(sorted_index.transform),
        ),
        Rule(
            id="any-all-generator",
            title="Short-circuit any()/all() with a generator",
            rationale=any_all.RATIONALE,
            safety=(
                "Fires on any([...])/all([...]) of a list comprehension without :=, await or "
                "yield; elements after the decisive one are no longer evaluated."
            ),
            transform=_transform(any_all.transform),
        ),
        Rule(
            id="incremental-window-aggregate",
            title="Update a sliding-window sum, max or min instead of recomputing it",
            rationale=window_aggregate.RATIONALE,
            safety=(
                "Fires on sum/max/min(xs[i+a:i+b]) in a for-range loop or comprehension that "
                "neither rebinds nor mutates xs, i or the offsets (only read-only builtins, "
                "math and appends to fresh lists); a run-time helper falls back to the "
                "original expression for non-list inputs, non-int/float elements, NaN, "
                "clipped windows and float sums it cannot bound within 1e-11 relative."
            ),
            transform=_transform(window_aggregate.transform),
        ),
        Rule(
            id="hoist-loop-invariant",
            title="Hoist loop-invariant lookups and arithmetic out of loops",
            rationale=loop_invariant.RATIONALE,
            safety=(
                "Fires on calls of methods of local builtin containers (not list.append), of "
                "builtins and of math-like module functions, and on +-* arithmetic of numeric "
                "names, in loops that rebind none of it; what is hoisted cannot fail or have "
                "effects even if the loop never runs (int/float annotations are trusted)."
            ),
            transform=_transform(loop_invariant.transform),
        ),
        Rule(
            id="dict-keys-membership",
            title="Drop .keys() in membership tests and loops",
            rationale=dict_keys.RATIONALE,
            safety=(
                "Fires on k in d.keys() and for k in d.keys() for a name/attribute d; assumes "
                "d is a mapping whose iteration and keys() agree."
            ),
            transform=_transform(dict_keys.transform),
        ),
    ]
}
# Each rule's median speedup on its micro workload (the catalogue in tasks/README.md,
# measured with scripts/bench_rules.py on CPython 3.11); the last two measured slower there.
MICRO_SPEEDUP: dict[str, float] = {
    "list-membership-to-set": 185.21,
    "list-index-to-dict": 144.92,
    "any-all-generator": 52.86,
    "linear-search-to-index": 48.31,
    "list-concat-to-append": 30.27,
    "incremental-window-aggregate": 2.29,
    "sorted-index-to-min-max": 2.05,
    "compile-regex-once": 1.95,
    "dict-keys-membership": 1.47,
    "hoist-loop-invariant": 1.15,
    "string-concat-to-join": 0.89,
    "regex-slice-to-pos": 0.88,
}
MIN_SAVING = 0.05  # a rule slower on its micro workload may still win on a task's inputs
if set(MICRO_SPEEDUP) != set(RULES):  # a new rule needs its catalogue figure
    raise RuntimeError(f"rules without a micro figure: {sorted(set(RULES) ^ set(MICRO_SPEEDUP))}")
RULES = {rule_id: RULES[rule_id] for rule_id in MICRO_SPEEDUP}  # most valuable first


# Rules whose rewrite skips whole evaluations (any/all stop at the decisive element, calls
# included): they can save a line's inclusive time, not only its own.
INCLUSIVE_RULES = frozenset({"any-all-generator"})
# What aliasing a builtin or a method to a local saves of its loop's own time. CPython 3.11+
# specialises global and attribute loads (LOAD_GLOBAL_BUILTIN, LOAD_ATTR_METHOD_*), so a
# local alias spares a cache check, not a dict lookup: measured ``same`` on real loops
# (1.015× [0.965, 1.045]). The catalogue's 1.15× came from hoisting arithmetic as well.
ALIAS_SAVING = 0.02


def rewrite_saving(rule_id: str, old: str, new: str) -> float:
    """The share of its lines' time this rewrite may remove: the rule's catalogue figure
    (``expected_saving``), except for a loop-invariant hoist that only aliases builtins,
    module functions or methods (``ALIAS_SAVING``)."""
    if rule_id == "hoist-loop-invariant" and _only_aliases(old, new):
        return ALIAS_SAVING
    return expected_saving(rule_id)


def _only_aliases(old: str, new: str) -> bool:
    """Every binding the rewrite adds (an assignment to a name the old code never uses)
    is ``name = name`` or ``name = obj.attr``."""
    known = {n.id for n in ast.walk(ast.parse(old)) if isinstance(n, ast.Name)}
    hoisted = [
        node.value
        for node in ast.walk(ast.parse(new))
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id not in known for t in node.targets)
    ]
    return bool(hoisted) and all(isinstance(v, ast.Name | ast.Attribute) for v in hoisted)


def expected_saving(rule_id: str) -> float:
    """The share of its lines' time the rule removed on its micro workload (1 - 1/speedup),
    at least MIN_SAVING: a prior for ranking, never a verdict."""
    return max(MIN_SAVING, 1.0 - 1.0 / MICRO_SPEEDUP[rule_id])


@functools.lru_cache(maxsize=8)
def _parse(source: str) -> cst.Module:
    """One parse per source text: the proposer asks every rule about the same file, and a
    shared (immutable) tree lets the rules' analyses cache their walks of it."""
    return cst.parse_module(source)


def apply_rule(source: str, qualname: str, rule_id: str) -> str | None:
    """New source of the whole file with the rule applied inside ``qualname``
    (``Class.method``, ``outer.<locals>.inner`` or ``outer.inner``), or None when the rule
    does not fire there. The result parses and compiles."""
    rule = RULES[rule_id]
    try:
        module = _parse(source)
    except cst.ParserSyntaxError:
        return None
    new, count = rule.transform(module, qualname)
    if not count:
        return None
    new_source = new.code
    compile(new_source, "<rule>", "exec")  # a rule producing invalid code is a bug: raise
    return new_source


def applicable_rules(source: str, qualname: str) -> list[str]:
    """Ids of the rules that fire inside ``qualname``, in :data:`RULES` order."""
    return [rule_id for rule_id in RULES if apply_rule(source, qualname, rule_id) is not None]
