"""``string-concat-to-join``: ``s += ...`` in a loop becomes a list of parts joined once.

Matches a statement ``s = "<literal>"`` (or ``s: str = ...``) followed, in the same block,
by a ``for``/``while`` loop in which ``s`` occurs only as the target of ``s += <expr>``
statements (``<expr>`` not mentioning ``s``), with ``s`` otherwise read only in the
statements after the loop in that block.

Rewrite: ``s = ""`` → ``s_parts = []`` (``["<literal>"]`` for a non-empty start),
``s += e`` → ``s_parts.append(e)``, and ``s = "".join(s_parts)`` right after the loop.

Safe because nobody can observe ``s`` between its start and the end of the loop. Must not
fire if ``s`` is read or rebound in the loop (its test included) or between the start and
the loop, mentioned anywhere else in the function (before the start, in an enclosing
``try`` handler, in the loop's ``else``), used by a nested function/lambda/class, or declared
``global``/``nonlocal``. Caveat: a non-``str`` operand raises ``TypeError`` at the join,
after the loop, instead of at the ``+=``; the lab's equivalence check covers that.
"""

from __future__ import annotations

import libcst as cst

from perfagent.tools.rules._accumulate import accumulation, single_assignment
from perfagent.tools.rules._base import (
    Rewrite,
    Target,
    all_names,
    fresh_name,
    occurrences,
    replace_nodes,
    walk,
)

RATIONALE = "s += piece in a loop may copy s every time (O(n²)); ''.join(parts) copies once"


def _start(
    statement: cst.BaseStatement,
) -> tuple[cst.Name, cst.Assign | cst.AnnAssign, str] | None:
    """``(name node, small statement, literal)`` for ``name = "<str literal>"``."""
    found = single_assignment(statement)
    if found is None:
        return None
    target, value, small = found
    if isinstance(small, cst.AnnAssign) and not (
        isinstance(small.annotation.annotation, cst.Name)
        and small.annotation.annotation.value == "str"
    ):
        return None
    if not isinstance(value, cst.SimpleString):
        return None
    if not isinstance(value.evaluated_value, str):
        return None  # bytes
    return target, small, value.value


def _start_of(statement: cst.BaseStatement) -> tuple[cst.Name, cst.BaseSmallStatement] | None:
    start = _start(statement)
    return None if start is None else (start[0], start[1])


def _site_of(
    name: str, node: cst.Name, ancestors: tuple[cst.CSTNode, ...]
) -> cst.BaseSmallStatement | None:
    """The ``s += <expr not mentioning s>`` statement ``node`` is the target of."""
    parent = ancestors[-1]
    if (
        isinstance(parent, cst.AugAssign)
        and parent.target is node
        and isinstance(parent.operator, cst.AddAssign)
        and not occurrences(parent.value, name)
    ):
        return parent
    return None


def _plan(
    function: cst.FunctionDef, block: cst.IndentedBlock, index: int, taken: set[str]
) -> tuple[dict[int, cst.CSTNode], dict[int, list[cst.BaseStatement]]] | None:
    found = accumulation(function, block, index, _start_of, _site_of)
    if found is None:
        return None
    start = _start(block.body[index])
    assert start is not None
    _, small, literal = start
    parts = fresh_name(f"{found.name}_parts", taken)
    value = small.value
    assert isinstance(value, cst.SimpleString)
    initial = f"[{literal}]" if value.evaluated_value else "[]"
    if isinstance(small, cst.AnnAssign):
        new_start = cst.parse_statement(f"{parts}: list[str] = {initial}\n")
    else:
        new_start = cst.parse_statement(f"{parts} = {initial}\n")
    assert isinstance(new_start, cst.SimpleStatementLine)
    replacements: dict[int, cst.CSTNode] = {id(small): new_start.body[0]}
    for site in found.sites:
        assert isinstance(site, cst.AugAssign)
        call = cst.parse_expression(f"{parts}.append(x)")
        assert isinstance(call, cst.Call)
        call = call.with_changes(args=[cst.Arg(site.value)])
        replacements[id(site)] = cst.Expr(call, semicolon=site.semicolon)
    join = cst.parse_statement(f'{found.name} = "".join({parts})\n')
    return replacements, {id(found.loop): [join]}


def transform(target: Target) -> Rewrite | None:
    function = target.node
    taken = all_names(target.module)
    replacements: dict[int, cst.CSTNode] = {}
    after: dict[int, list[cst.BaseStatement]] = {}
    count = 0
    for node, _ in walk(function):
        if not isinstance(node, cst.IndentedBlock):
            continue
        for index in range(len(node.body)):
            plan = _plan(function, node, index, taken)
            if plan is not None:
                replacements.update(plan[0])
                after.update(plan[1])
                count += 1
    if not count:
        return None
    return Rewrite(replace_nodes(function, replacements, after), count)
