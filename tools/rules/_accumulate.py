"""The shape two rules share: a variable started fresh, grown inside one loop, read after it.

``accumulation`` finds, for the statement at ``block.body[index]``, a start ``x = <fresh>``
followed in the same block by a ``for``/``while`` loop in whose body ``x`` occurs only in
growing statements (which the rule recognises), and otherwise only in the statements after
the loop. Nobody can observe ``x`` between its start and the end of the loop, so the rule
may grow it differently in between (a list of parts, an in-place append).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import libcst as cst

from perfagent.tools.rules._names import occurrences
from perfagent.tools.rules._syntax import named_assignment

# (statement) -> (the name node bound, the small statement) for a fresh start, or None
StartOf = Callable[[cst.BaseStatement], "tuple[cst.Name, cst.BaseSmallStatement] | None"]
# (name, occurrence's parent chain) -> the growing statement it belongs to, or None
SiteOf = Callable[[str, cst.Name, tuple[cst.CSTNode, ...]], "cst.BaseSmallStatement | None"]


def single_assignment(
    statement: cst.BaseStatement,
) -> tuple[cst.Name, cst.BaseExpression, cst.Assign | cst.AnnAssign] | None:
    """``(name, value, small statement)`` for a line that is only ``name = value`` or
    ``name: annotation = value``."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    assigned = named_assignment(small)
    if assigned is None or not isinstance(small, cst.Assign | cst.AnnAssign):
        return None
    return (*assigned, small)


@dataclass(frozen=True)
class Accumulation:
    name: str
    start: cst.BaseSmallStatement
    loop: cst.For | cst.While
    sites: list[cst.BaseSmallStatement]  # each growing statement once, in source order


def accumulation(
    function: cst.FunctionDef,
    block: cst.IndentedBlock,
    index: int,
    start_of: StartOf,
    site_of: SiteOf,
) -> Accumulation | None:
    start = start_of(block.body[index])
    if start is None:
        return None
    target, small = start
    name = target.value
    rest = block.body[index + 1 :]
    loop_at = next((i for i, s in enumerate(rest) if isinstance(s, cst.For | cst.While)), None)
    if loop_at is None:
        return None
    loop = rest[loop_at]
    assert isinstance(loop, cst.For | cst.While)
    before, after = rest[:loop_at], rest[loop_at + 1 :]
    sites: dict[int, cst.BaseSmallStatement] = {}
    for occ in occurrences(function, name):
        if occ.in_nested_scope:
            return None
        ancestors = occ.ancestors
        if any(a is small for a in ancestors):
            if occ.node is not target:
                return None  # ``x = x0 = ...`` or similar: keep it simple
            continue
        if any(a is s for s in after for a in ancestors):
            continue
        if any(a is s for s in before for a in ancestors):
            return None
        in_body = any(a is loop.body for a in ancestors)
        site = site_of(name, occ.node, ancestors) if in_body else None
        if site is None:
            return None  # read in the loop, its test or else, or elsewhere in the function
        sites[id(site)] = site
    if not sites:
        return None
    return Accumulation(name, small, loop, list(sites.values()))
