"""Name analysis for the rule transforms: where a variable occurs, binds, and a fresh name.

Rules decide whether a rewrite is safe by where a variable is bound and read; these helpers
answer that on libcst trees (labels such as ``obj.name`` and ``f(name=...)`` are not
variables). Re-exported by ``_base.py``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import libcst as cst


@dataclass(frozen=True)
class Occurrence:
    """A ``Name`` node with the chain of its ancestors (outermost first, parent last)."""

    node: cst.Name
    ancestors: tuple[cst.CSTNode, ...]

    @property
    def parent(self) -> cst.CSTNode:
        return self.ancestors[-1]

    @property
    def in_nested_scope(self) -> bool:
        """Inside a nested def, lambda or class (not counting the root it was searched from)."""
        return any(
            isinstance(a, cst.FunctionDef | cst.Lambda | cst.ClassDef) for a in self.ancestors[1:]
        )


class _Collect(cst.CSTVisitor):
    def __init__(self, names: set[str] | None) -> None:
        self.names = names
        self.stack: list[cst.CSTNode] = []
        self.found: list[Occurrence] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.Name) and (self.names is None or node.value in self.names):
            parent = self.stack[-1] if self.stack else None
            # ``obj.name`` and ``f(name=...)`` labels are not references to the variable.
            is_label = (isinstance(parent, cst.Attribute) and parent.attr is node) or (
                isinstance(parent, cst.Arg) and parent.keyword is node
            )
            if not is_label:
                self.found.append(Occurrence(node, tuple(self.stack)))
        self.stack.append(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.stack.pop()


def occurrences(root: cst.CSTNode, name: str) -> list[Occurrence]:
    """Every reference or binding of the variable ``name`` under ``root``."""
    collector = _Collect({name})
    root.visit(collector)
    return collector.found


def all_names(root: cst.CSTNode) -> set[str]:
    """Every identifier used under ``root`` (to pick fresh names); a new set the caller
    may extend."""
    return set(_all_names(root))


@functools.lru_cache(maxsize=32)
def _all_names(root: cst.CSTNode) -> frozenset[str]:
    collector = _Collect(None)
    root.visit(collector)
    return frozenset({occ.node.value for occ in collector.found} | _labels(root))


def _labels(root: cst.CSTNode) -> set[str]:
    found: set[str] = set()

    class _V(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            found.add(node.value)

    root.visit(_V())
    return found


def fresh_name(base: str, taken: set[str]) -> str:
    """``base``, or ``base_2``, ``base_3``..., whichever is not in ``taken`` (then taken)."""
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def is_binding(occ: Occurrence) -> bool:
    """Whether this occurrence (re)binds the name (assignment, loop target, param, import...)."""
    child: cst.CSTNode = occ.node
    chain = list(occ.ancestors)
    # Climb out of unpacking targets: ``a, (b, *c) = ...``.
    while chain and isinstance(chain[-1], cst.Tuple | cst.List | cst.Element | cst.StarredElement):
        child = chain.pop()
    if not chain:
        return False
    parent = chain[-1]
    if (
        isinstance(parent, cst.Attribute)
        and len(chain) > 1
        and isinstance(chain[-2], cst.ImportAlias)
    ):
        return parent.value is child and chain[-2].asname is None  # ``import a.b`` binds ``a``
    targets = (cst.AssignTarget, cst.AnnAssign, cst.AugAssign, cst.For, cst.CompFor)
    if isinstance(parent, (*targets, cst.NamedExpr, cst.Del)):
        return child is parent.target
    if isinstance(parent, cst.AsName | cst.Param | cst.FunctionDef | cst.ClassDef):
        return child is parent.name
    if isinstance(parent, cst.ImportAlias):
        return child is parent.name and parent.asname is None
    return isinstance(parent, cst.NameItem)


def is_bound_anywhere(root: cst.CSTNode, name: str) -> bool:
    """Whether ``name`` is bound anywhere under ``root`` (shadowing check for builtins)."""
    return name in bound_names(root)


@functools.lru_cache(maxsize=32)
def bound_names(root: cst.CSTNode) -> frozenset[str]:
    """Every name bound anywhere under ``root``. Nodes are immutable and hash by identity, so
    one walk serves every question about the same tree (a rule asks about each builtin it
    touches, and walking a 3,000-line module costs about half a second)."""
    return frozenset(occ.node.value for occ in all_occurrences(root) if is_binding(occ))


def all_occurrences(root: cst.CSTNode) -> list[Occurrence]:
    """Every reference or binding of every variable under ``root`` (nested scopes too)."""
    collector = _Collect(None)
    root.visit(collector)
    return collector.found


def uses_of_local(
    function: cst.FunctionDef, binding: cst.CSTNode, name: str
) -> list[Occurrence] | None:
    """Every non-binding occurrence of a local ``name`` bound only by ``binding``, or None
    when it is bound anywhere else or used from a nested scope (then no rule may touch it)."""
    uses = []
    for occ in occurrences(function, name):
        if occ.in_nested_scope:
            return None
        if is_binding(occ):
            if not any(a is binding for a in occ.ancestors):
                return None
            continue
        uses.append(occ)
    return uses


def module_binding(module: cst.Module, name: str, before: int) -> cst.BaseStatement | None:
    """The top-level statement before index ``before`` that is the module's only binding of
    ``name``, or None if ``name`` is bound elsewhere too (or not at all)."""
    found: cst.BaseStatement | None = None
    for index, statement in enumerate(module.body):
        if not any(is_binding(occ) for occ in occurrences(statement, name)):
            continue
        if found is not None or index >= before:
            return None
        found = statement
    return found
