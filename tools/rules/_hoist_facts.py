"""Facts about a function's names and loops for ``hoist-loop-invariant`` (``loop_invariant.py``).

What the rule's safety conditions rest on, kept apart from planning what to hoist: each
variable's bindings and the names no rewrite may touch (``Names``), whether a name is bound
before a loop starts (``dominated``), the loops that run a node once per iteration
(``loops_around``), and loops that catch name errors or suspend (``guards_names``,
``suspends``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import libcst as cst

from perfagent.tools.rules._base import (
    Occurrence,
    all_occurrences,
    is_binding,
    repeated_parts,
    walk,
)

_SCOPES = cst.ListComp | cst.SetComp | cst.DictComp | cst.GeneratorExp
_GUARDED = frozenset({"NameError", "UnboundLocalError", "AttributeError"})

Loop = cst.For | cst.While


@dataclass
class Names:
    """Facts about the function's variables."""

    function: cst.FunctionDef
    bindings: dict[str, list[Occurrence]] = field(default_factory=dict)
    refused: set[str] = field(default_factory=set)  # nested scopes, global/nonlocal, del

    @classmethod
    def of(cls, function: cst.FunctionDef) -> Names:
        names = cls(function)
        for occ in all_occurrences(function.body):
            name = occ.node.value
            if occ.in_nested_scope or any(
                isinstance(a, cst.NameItem | cst.Del) for a in occ.ancestors
            ):
                names.refused.add(name)
            elif is_binding(occ):
                names.bindings.setdefault(name, []).append(occ)
        return names

    def params(self) -> dict[str, cst.Param]:
        p = self.function.params
        return {x.name.value: x for x in (*p.posonly_params, *p.params, *p.kwonly_params)}

    def bound_in(self, name: str, loop: Loop) -> bool:
        return any(any(a is loop for a in occ.ancestors) for occ in self.bindings.get(name, ()))


def binding_statement(occ: Occurrence) -> cst.Assign | cst.AnnAssign | cst.AugAssign | None:
    """The assignment whose plain-name target ``occ`` is (``x = ...``, not unpacking)."""
    parent = occ.parent
    if isinstance(parent, cst.AssignTarget) and len(occ.ancestors) > 1:
        assign = occ.ancestors[-2]
        if isinstance(assign, cst.Assign) and len(assign.targets) == 1:
            return assign
        return None
    if isinstance(parent, cst.AnnAssign | cst.AugAssign) and parent.target is occ.node:
        return parent if not isinstance(parent, cst.AnnAssign) or parent.value else None
    return None


def dominated(names: Names, name: str, ancestors: Sequence[cst.CSTNode], loop: Loop) -> bool:
    """``name`` is a parameter, or bound by a statement that always runs before ``loop``
    (earlier in an enclosing block) or by the target of an enclosing ``for``."""
    if name in names.params():
        return True
    path = (*ancestors[1:], loop)
    for parent, child in zip(ancestors, path, strict=True):
        if (
            isinstance(parent, cst.For)
            and child is parent.body
            and isinstance(parent.target, cst.Name)
            and parent.target.value == name
        ):
            return True
        if not isinstance(parent, cst.IndentedBlock):
            continue
        earlier = parent.body[: next(i for i, s in enumerate(parent.body) if s is child)]
        for occ in names.bindings.get(name, ()):
            # A simple statement of this very block (not one nested in an earlier ``if``).
            lines = [s for s in earlier if any(a is s for a in occ.ancestors)]
            simple = lines and isinstance(lines[0], cst.SimpleStatementLine)
            if simple and binding_statement(occ) is not None:
                return True
    return False


def guards_names(loop: Loop) -> bool:
    """The loop holds a ``try`` whose handlers catch name or attribute errors."""
    return any(
        isinstance(node, cst.ExceptHandler)
        and node.type is not None
        and references(node.type) & _GUARDED
        for node, _ in walk(loop)
    )


def references(node: cst.CSTNode) -> set[str]:
    """Variables ``node`` reads (not attribute or keyword labels)."""
    return {occ.node.value for occ in all_occurrences(node)}


def suspends(loop: Loop) -> bool:
    return any(isinstance(n, cst.Yield | cst.Await) for n, _ in walk(loop))


def loops_around(ancestors: Sequence[cst.CSTNode], node: cst.CSTNode) -> list[Loop]:
    """Loops (outermost first) that run ``node`` once per iteration; none when it sits in a
    comprehension or in an ``async for``."""
    loops: list[Loop] = []
    for parent, child in zip(ancestors, (*ancestors[1:], node), strict=False):  # root: none
        if isinstance(parent, _SCOPES):
            return []
        if isinstance(parent, cst.For | cst.While) and any(
            child is part for part in repeated_parts(parent)
        ):
            if isinstance(parent, cst.For) and parent.asynchronous is not None:
                return []
            loops.append(parent)
    return loops
