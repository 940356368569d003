"""``list-index-to-dict``: a local list of unique keys searched with ``.index()`` becomes a
dict from key to insertion position.

Matches a local ``name = []`` / ``name = list()`` (also annotated ``name: list[T] = ...``)
whose every other occurrence in the function is ``x in name`` / ``x not in name`` (a single
comparison), ``name.index(x)`` (exactly one positional argument) or a ``name.append(y)``
statement, with at least one ``.index()`` use (without one, ``list-membership-to-set``
applies instead).

Rewrite: the list becomes ``{}`` (annotation ``list[T]`` → ``dict[T, int]``), ``name.index(x)``
becomes ``name[x]`` and ``name.append(y)`` becomes ``name[y] = len(name)``; membership tests are
unchanged (they now test the dict's keys).

Safe because the list only ever holds unique elements, so the first position of ``x``
(``list.index``) is the position at which it was appended, which the dict records. Uniqueness
is established syntactically: every ``name.append(y)`` must sit in the ``else`` branch of an
``if y in name:`` (or the body of ``if y not in name:``), with ``y`` the same simple name in the
test and the call, ``y`` not rebound anywhere in that branch, no loop between the ``if`` and
the append, and no other ``name.append`` in that branch.

Behaviour of a miss: ``list.index`` raises ``ValueError`` where the dict raises ``KeyError``.
The rule therefore fires only when every ``name.index(x)`` sits in the body of an
``if x in name:`` (or the ``else`` of ``if x not in name:``) with the same simple name ``x``,
not rebound in that branch, so a miss cannot happen (nothing can remove elements).

Must not fire if the name is a parameter, bound twice, declared ``global``/``nonlocal``, used
in a nested function/lambda/class, iterated, passed to ``len()`` or anything else, returned,
stored, called with any other method (``remove``, ``extend``, ``insert``, ``pop``,
``count``...), if ``index`` gets extra arguments, if an append or ``index`` use is not guarded
as above, if ``len`` is rebound in the module, or if tested/appended values are not
*likely hashable* (same policy as ``list-membership-to-set``; see ``likely_hashable``).
"""

from __future__ import annotations

import libcst as cst

from perfagent.tools.rules._base import (
    Occurrence,
    Rewrite,
    Target,
    builtin_available,
    is_binding,
    likely_hashable,
    named_assignment,
    occurrences,
    replace_nodes,
    uses_of_local,
    walk,
)
from perfagent.tools.rules.list_membership import _membership_ok

RATIONALE = "list.index is O(n); a dict from each unique key to its position makes it O(1)"


def _candidate(node: cst.CSTNode) -> str | None:
    """``name`` for ``name = []`` / ``name = list()`` / ``name: ann = <one of those>``."""
    assigned = named_assignment(node)
    if assigned is None:
        return None
    target, value = assigned
    empty_list = (isinstance(value, cst.List) and not value.elements) or (
        isinstance(value, cst.Call)
        and isinstance(value.func, cst.Name)
        and value.func.value == "list"
        and not value.args
    )
    return target.value if empty_list else None


def _dict_annotation(annotation: cst.Annotation) -> cst.Annotation | None:
    """``list`` → ``dict``, ``list[T]`` → ``dict[T, int]`` (also ``List``); else None."""
    ann = annotation.annotation
    if isinstance(ann, cst.Name) and ann.value in ("list", "List"):
        return annotation.with_changes(annotation=cst.Name("dict"))
    if (
        isinstance(ann, cst.Subscript)
        and isinstance(ann.value, cst.Name)
        and ann.value.value in ("list", "List")
        and len(ann.slice) == 1
    ):
        element = ann.slice[0].with_changes(
            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        )
        int_element = cst.SubscriptElement(cst.Index(cst.Name("int")))
        new = ann.with_changes(value=cst.Name("dict"), slice=[element, int_element])
        return annotation.with_changes(annotation=new)
    return None


def _method_call(occ: Occurrence, method: str) -> cst.Call | None:
    """The ``name.<method>(arg)`` call (one positional argument) that ``occ`` is the object of."""
    if len(occ.ancestors) < 2:
        return None
    attribute, call = occ.ancestors[-1], occ.ancestors[-2]
    if not (
        isinstance(attribute, cst.Attribute)
        and attribute.value is occ.node
        and attribute.attr.value == method
        and isinstance(call, cst.Call)
        and call.func is attribute
        and len(call.args) == 1
        and call.args[0].keyword is None
        and not call.args[0].star
    ):
        return None
    return call


def _tested_name(test: cst.BaseExpression, name: str) -> tuple[str, bool] | None:
    """``(x, True)`` for ``x in name``, ``(x, False)`` for ``x not in name`` (simple ``x``)."""
    if not (
        isinstance(test, cst.Comparison)
        and len(test.comparisons) == 1
        and isinstance(test.left, cst.Name)
    ):
        return None
    comparison = test.comparisons[0]
    if not (isinstance(comparison.comparator, cst.Name) and comparison.comparator.value == name):
        return None
    if isinstance(comparison.operator, cst.In):
        return test.left.value, True
    if isinstance(comparison.operator, cst.NotIn):
        return test.left.value, False
    return None


def _guard_branch(occ: Occurrence, name: str, value: str, *, present: bool) -> cst.CSTNode | None:
    """The branch of an enclosing ``if`` (in the function's own scope) that is entered only
    when ``value in name`` is ``present``, and that contains ``occ``; None if there is none."""
    path = (*occ.ancestors, occ.node)
    for depth in range(len(occ.ancestors) - 1, -1, -1):
        node = path[depth]
        if not isinstance(node, cst.If):
            continue
        tested = _tested_name(node.test, name)
        if tested is None or tested[0] != value:
            continue
        child = path[depth + 1]
        in_body = child is node.body
        in_orelse = node.orelse is not None and child is node.orelse
        # ``x in name`` true → body when the test is ``in``, orelse when it is ``not in``.
        if (in_body and tested[1] == present) or (in_orelse and tested[1] != present):
            if any(is_binding(o) for o in occurrences(child, value)):
                continue
            return child
    return None


def _loop_between(occ: Occurrence, branch: cst.CSTNode) -> bool:
    """Whether a loop lies between ``branch`` and ``occ`` (so the branch could append twice)."""
    index = next(i for i, a in enumerate(occ.ancestors) if a is branch)
    return any(isinstance(a, cst.For | cst.While) for a in occ.ancestors[index:])


def _appends_in(branch: cst.CSTNode, name: str) -> int:
    return sum(1 for occ in occurrences(branch, name) if _method_call(occ, "append") is not None)


def _plan(
    function: cst.FunctionDef, node: cst.Assign | cst.AnnAssign, name: str
) -> dict[int, cst.CSTNode] | None:
    """Replacements turning the list ``name`` into a dict, or None if that is not safe."""
    replacements: dict[int, cst.CSTNode] = {}
    lookups = 0
    uses = uses_of_local(function, node, name)
    if uses is None:
        return None
    for occ in uses:
        if _membership_ok(occ, function):
            continue
        index_call = _method_call(occ, "index")
        if index_call is not None:
            arg = index_call.args[0].value
            if not (isinstance(arg, cst.Name) and likely_hashable(arg, function)):
                return None
            if _guard_branch(occ, name, arg.value, present=True) is None:
                return None
            subscript = cst.Subscript(
                value=cst.Name(name), slice=[cst.SubscriptElement(cst.Index(arg))]
            )
            replacements[id(index_call)] = subscript
            lookups += 1
            continue
        append_call = _method_call(occ, "append")
        statement = occ.ancestors[-3] if len(occ.ancestors) >= 3 else None
        if append_call is None or not (
            isinstance(statement, cst.Expr) and statement.value is append_call
        ):
            return None
        arg = append_call.args[0].value
        if not (isinstance(arg, cst.Name) and likely_hashable(arg, function)):
            return None
        branch = _guard_branch(occ, name, arg.value, present=False)
        if branch is None or _loop_between(occ, branch) or _appends_in(branch, name) != 1:
            return None
        replacements[id(statement)] = cst.Assign(
            targets=[
                cst.AssignTarget(
                    cst.Subscript(
                        value=cst.Name(name), slice=[cst.SubscriptElement(cst.Index(arg))]
                    )
                )
            ],
            value=cst.Call(cst.Name("len"), args=[cst.Arg(cst.Name(name))]),
            semicolon=statement.semicolon,
        )
    if not lookups:
        return None
    assert node.value is not None
    replacements[id(node.value)] = cst.Dict([])
    if isinstance(node, cst.AnnAssign):
        annotation = _dict_annotation(node.annotation)
        if annotation is None:
            return None
        replacements[id(node.annotation)] = annotation
    return replacements


def transform(target: Target) -> Rewrite | None:
    function = target.node
    if not builtin_available(target, "len"):
        return None
    replacements: dict[int, cst.CSTNode] = {}
    count = 0
    for node, _ in walk(function):
        if not isinstance(node, cst.Assign | cst.AnnAssign):
            continue
        name = _candidate(node)
        if name is None:
            continue
        plan = _plan(function, node, name)
        if plan is not None:
            replacements.update(plan)
            count += 1
    if not count:
        return None
    return Rewrite(replace_nodes(function, replacements), count)
