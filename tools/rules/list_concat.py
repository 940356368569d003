"""``list-concat-to-append``: ``xs = xs + [x]`` in a loop becomes ``xs.append(x)``.

Matches a statement ``xs = [...]`` (a list display, or ``xs: <annotation> = [...]``) followed,
in the same block, by a ``for``/``while`` loop in which ``xs`` occurs only in statements
``xs = xs + [e, ...]`` (a list display not mentioning ``xs``), with ``xs`` otherwise read
only in the statements after the loop in that block (the shape of ``_accumulate.py``).

Rewrite: ``xs = xs + [e]`` → ``xs.append(e)``, ``xs = xs + [a, b, *c]`` →
``xs.extend([a, b, *c])``. Each ``+`` copies the whole list, so the loop is quadratic in the
list's final length; appending is amortised constant.

Safe because the original builds a new list every time but nobody can tell: the list starts
fresh (a display, so no other reference to it exists), and ``xs`` is not read between its
start and the end of the loop, so no other reference to any of its intermediate values is
taken; after the loop ``xs`` holds the same elements, in the same order, as the same objects.
The right operand is evaluated before the list changes in both forms, so an exception there
leaves ``xs`` as it was. Must not fire when ``xs`` is read in the loop (``for y in xs``,
``len(xs)``, passing it on: another reference could see the in-place change) or between the
start and the loop, starts as anything but a display (a parameter, a call: possibly shared),
is used by a nested function/lambda/class, or is declared ``global``/``nonlocal``; nor on
``xs += [...]`` (already in place) or ``xs = [e] + xs`` (a different order).
"""

from __future__ import annotations

import libcst as cst

from perfagent.tools.rules._accumulate import accumulation, single_assignment
from perfagent.tools.rules._base import Rewrite, Target, occurrences, replace_nodes, walk

RATIONALE = "xs = xs + [x] in a loop copies the whole list every time (O(n²)); append grows it"


def _start_of(statement: cst.BaseStatement) -> tuple[cst.Name, cst.BaseSmallStatement] | None:
    """``(name node, small statement)`` for ``name = [...]`` (optionally annotated)."""
    found = single_assignment(statement)
    if found is None or not isinstance(found[1], cst.List):
        return None
    return found[0], found[2]


def _site_of(
    name: str, node: cst.Name, ancestors: tuple[cst.CSTNode, ...]
) -> cst.BaseSmallStatement | None:
    """The statement ``name = name + [...]`` that ``node`` is the target or left operand of."""
    if len(ancestors) < 2:
        return None
    parent, statement = ancestors[-1], ancestors[-2]
    if not isinstance(statement, cst.Assign) or len(statement.targets) != 1:
        return None
    value, target = statement.value, statement.targets[0].target
    if not (
        isinstance(target, cst.Name)
        and target.value == name
        and isinstance(value, cst.BinaryOperation)
        and isinstance(value.operator, cst.Add)
        and isinstance(value.left, cst.Name)
        and value.left.value == name
        and isinstance(value.right, cst.List)
        and not occurrences(value.right, name)
    ):
        return None
    if (parent is statement.targets[0] and target is node) or (
        parent is value and value.left is node
    ):
        return statement
    return None


def _grow(site: cst.Assign, name: str) -> cst.Expr:
    assert isinstance(site.value, cst.BinaryOperation)
    items = site.value.right
    assert isinstance(items, cst.List)
    single = len(items.elements) == 1 and isinstance(items.elements[0], cst.Element)
    if single:
        call = cst.parse_expression(f"{name}.append(x)")
        argument: cst.BaseExpression = items.elements[0].value
    else:
        call = cst.parse_expression(f"{name}.extend(x)")
        argument = items
    assert isinstance(call, cst.Call)
    return cst.Expr(call.with_changes(args=[cst.Arg(argument)]), semicolon=site.semicolon)


def transform(target: Target) -> Rewrite | None:
    function = target.node
    replacements: dict[int, cst.CSTNode] = {}
    count = 0
    for node, _ in walk(function):
        if not isinstance(node, cst.IndentedBlock):
            continue
        for index in range(len(node.body)):
            found = accumulation(function, node, index, _start_of, _site_of)
            if found is None:
                continue
            for site in found.sites:
                assert isinstance(site, cst.Assign)
                replacements[id(site)] = _grow(site, found.name)
            count += 1
    if not count:
        return None
    return Rewrite(replace_nodes(function, replacements), count)
