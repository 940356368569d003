"""``list-membership-to-set``: a local list used only for ``in`` tests becomes a set.

Matches a local ``name = []`` / ``name = list()`` / ``name = [hashable literals]`` (also
annotated ``name: list[T] = ...``) whose every other occurrence in the function is
``x in name`` / ``x not in name`` (a single comparison) or a ``name.append(e)`` statement,
with at least one membership test.

Rewrite: the list becomes ``set()`` / a set literal (annotation ``list[T]`` → ``set[T]``) and
``name.append(e)`` becomes ``name.add(e)``.

Safe because membership is the only thing observed: order and duplicates are never read.
Must not fire if the name is a parameter, bound twice, declared ``global``/``nonlocal``,
used in a nested function/lambda/class, indexed, iterated, passed, returned, stored, or
called with any other method (``index``, ``remove``, ``extend``...). Hashability policy:
appended values and tested values must be *likely hashable* (see ``likely_hashable``:
literals, f-strings, names not visibly bound to list/dict/set, attribute/subscript reads,
builtins returning hashables, str methods, tuples of those); anything else blocks the rule.
Caveat: a name or attribute holding an unhashable value at run time raises ``TypeError``,
which the lab's tests and equivalence check catch.
"""

from __future__ import annotations

import libcst as cst

from perfagent.tools.rules._base import (
    Occurrence,
    Rewrite,
    Target,
    is_hashable_literal,
    likely_hashable,
    named_assignment,
    replace_nodes,
    uses_of_local,
    walk,
)

RATIONALE = "x in list is O(n); a set built the same way makes the test O(1)"


def _candidate(node: cst.CSTNode) -> tuple[str, cst.BaseExpression] | None:
    """``(name, value)`` for ``name = <list>`` / ``name: ann = <list>``."""
    assigned = named_assignment(node)
    if assigned is None or _as_set(assigned[1]) is None:
        return None
    return assigned[0].value, assigned[1]


def _as_set(value: cst.BaseExpression) -> cst.BaseExpression | None:
    """The set equivalent of an empty list or a list literal of hashable literals."""
    if isinstance(value, cst.Call) and isinstance(value.func, cst.Name):
        if value.func.value == "list" and not value.args:
            return cst.Call(cst.Name("set"))
        return None
    if not isinstance(value, cst.List):
        return None
    if not value.elements:
        return cst.Call(cst.Name("set"))
    if all(isinstance(el, cst.Element) and is_hashable_literal(el.value) for el in value.elements):
        return cst.Set(
            elements=value.elements, lbrace=cst.LeftCurlyBrace(), rbrace=cst.RightCurlyBrace()
        )
    return None


def _set_annotation(annotation: cst.Annotation) -> cst.Annotation | None:
    ann = annotation.annotation
    if isinstance(ann, cst.Name) and ann.value in ("list", "List"):
        return annotation.with_changes(annotation=cst.Name("set"))
    if (
        isinstance(ann, cst.Subscript)
        and isinstance(ann.value, cst.Name)
        and ann.value.value in ("list", "List")
    ):
        return annotation.with_changes(annotation=ann.with_changes(value=cst.Name("set")))
    return None


def _membership_ok(occ: Occurrence, function: cst.FunctionDef) -> bool:
    """``x in name`` as a single comparison with a likely hashable ``x``."""
    parent = occ.parent
    if not (
        isinstance(parent, cst.ComparisonTarget)
        and parent.comparator is occ.node
        and isinstance(parent.operator, cst.In | cst.NotIn)
    ):
        return False
    comparison = occ.ancestors[-2]
    return (
        isinstance(comparison, cst.Comparison)
        and len(comparison.comparisons) == 1
        and likely_hashable(comparison.left, function)
    )


def _append_call(occ: Occurrence, function: cst.FunctionDef) -> cst.Attribute | None:
    """The ``name.append`` attribute of a ``name.append(e)`` expression statement."""
    if len(occ.ancestors) < 3:
        return None
    attribute, call, statement = occ.ancestors[-1], occ.ancestors[-2], occ.ancestors[-3]
    if not (
        isinstance(attribute, cst.Attribute)
        and attribute.value is occ.node
        and attribute.attr.value == "append"
        and isinstance(call, cst.Call)
        and call.func is attribute
        and isinstance(statement, cst.Expr)
        and len(call.args) == 1
        and call.args[0].keyword is None
        and not call.args[0].star
        and likely_hashable(call.args[0].value, function)
    ):
        return None
    return attribute


def _plan(
    function: cst.FunctionDef, node: cst.Assign | cst.AnnAssign, name: str
) -> dict[int, cst.CSTNode] | None:
    """Replacements turning the list ``name`` into a set, or None if it is used otherwise."""
    replacements: dict[int, cst.CSTNode] = {}
    tests = 0
    uses = uses_of_local(function, node, name)
    if uses is None:
        return None
    for occ in uses:
        if _membership_ok(occ, function):
            tests += 1
            continue
        attribute = _append_call(occ, function)
        if attribute is None:
            return None
        replacements[id(attribute.attr)] = cst.Name("add")
    if not tests:
        return None
    new_value = _as_set(node.value) if node.value is not None else None
    assert new_value is not None
    replacements[id(node.value)] = new_value
    if isinstance(node, cst.AnnAssign):
        annotation = _set_annotation(node.annotation)
        if annotation is None:
            return None
        replacements[id(node.annotation)] = annotation
    return replacements


def transform(target: Target) -> Rewrite | None:
    function = target.node
    replacements: dict[int, cst.CSTNode] = {}
    count = 0
    for node, _ in walk(function):
        if not isinstance(node, cst.Assign | cst.AnnAssign):
            continue
        candidate = _candidate(node)
        if candidate is None:
            continue
        plan = _plan(function, node, candidate[0])
        if plan is not None:
            replacements.update(plan)
            count += 1
    if not count:
        return None
    return Rewrite(replace_nodes(function, replacements), count)
