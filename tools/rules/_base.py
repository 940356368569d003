"""Shared machinery of the rule transforms: finding the target function, rewriting its nodes.

A rule is written as a *function rewriter*: it gets the target ``FunctionDef`` (and the module,
for questions such as "is ``sorted`` shadowed?") and returns the rewritten function, the number
of sites it changed and any statements to put at module level just before the top-level
statement that holds the function. :func:`rewrite_function` does the locating and splicing.

The analysis helpers live in ``_names.py`` (occurrences, bindings, fresh names) and
``_syntax.py`` (the walk, loops, literals, hashability); they are re-exported here so that a
rule imports its whole toolkit from this one module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import libcst as cst

from perfagent.tools.rules._names import (
    Occurrence,
    all_names,
    all_occurrences,
    fresh_name,
    is_binding,
    is_bound_anywhere,
    module_binding,
    occurrences,
    uses_of_local,
)
from perfagent.tools.rules._syntax import (
    code,
    enclosing_loop,
    in_loop,
    is_builtin_call,
    is_constant_string,
    is_hashable_literal,
    likely_hashable,
    named_assignment,
    repeated_parts,
    walk,
)

__all__ = [
    "FunctionRewriter",
    "NodeRewriter",
    "Occurrence",
    "Rewrite",
    "Target",
    "all_names",
    "all_occurrences",
    "blank_lines_before",
    "builtin_available",
    "code",
    "enclosing_loop",
    "fresh_name",
    "imports_module",
    "in_loop",
    "is_binding",
    "is_bound_anywhere",
    "is_builtin_call",
    "is_constant_string",
    "is_hashable_literal",
    "likely_hashable",
    "module_binding",
    "named_assignment",
    "occurrences",
    "repeated_parts",
    "replace_nodes",
    "replace_nodes_before",
    "rewrite_function",
    "rewrite_locally",
    "uses_of_local",
    "walk",
]


@dataclass
class Rewrite:
    """What a function rewriter returns."""

    function: cst.FunctionDef
    count: int
    prelude: list[cst.BaseStatement] = field(default_factory=list)


@dataclass(frozen=True)
class Target:
    """The function to rewrite, with where it sits in the module."""

    node: cst.FunctionDef
    module: cst.Module
    top_index: int  # index in ``module.body`` of the top-level statement holding the function


FunctionRewriter = Callable[[Target], Rewrite | None]


def _normalize(qualname: str) -> str:
    return qualname.replace(".<locals>.", ".").replace("<locals>.", "")


_TARGET = "\0target"  # stack marker for the target function (not a valid identifier)


class _Replacer(cst.CSTTransformer):
    """Replaces the first function whose ``__qualname__`` is ``qualname`` (``<locals>``
    optional)."""

    def __init__(
        self, qualname: str, module: cst.Module, top_index: int, rewriter: FunctionRewriter
    ):
        self.wanted = _normalize(qualname)
        self.module = module
        self.top_index = top_index
        self.rewriter = rewriter
        self.stack: list[str] = []
        self.result: Rewrite | None = None
        self.done = False

    def _qualname(self, name: str) -> str:
        return ".".join([*self.stack, name])

    def _leads_to_target(self, qualname: str) -> bool:
        # Only a def or class whose qualname prefixes the wanted one can hold it: the rest
        # are not walked (a walk rebuilds every node, and real modules are thousands of lines).
        return not self.done and self.wanted.startswith(_normalize(qualname) + ".")

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.stack.append(node.name.value)
        return self._leads_to_target(".".join(self.stack))

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.ClassDef:
        self.stack.pop()
        return updated_node

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        qualname = self._qualname(node.name.value)
        if not self.done and _normalize(qualname) == self.wanted:
            self.done = True
            self.result = self.rewriter(Target(node, self.module, self.top_index))
            self.stack.append(_TARGET)
            return False
        self.stack.append(node.name.value + ".<locals>")
        return self._leads_to_target(qualname)

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        if self.stack.pop() == _TARGET and self.result is not None:
            return self.result.function
        return updated_node


def rewrite_function(
    module: cst.Module, qualname: str, rewriter: FunctionRewriter
) -> tuple[cst.Module, int]:
    """Apply ``rewriter`` to the function ``qualname``; ``(module, 0)`` if absent or no change."""
    for index, statement in enumerate(module.body):
        if isinstance(statement, cst.SimpleStatementLine):
            continue  # holds no def
        replacer = _Replacer(qualname, module, index, rewriter)
        new_statement = statement.visit(replacer)
        if not replacer.done:
            continue
        result = replacer.result
        if result is None or result.count == 0:
            return module, 0
        assert isinstance(new_statement, cst.BaseStatement)
        body = [*module.body[:index], *result.prelude, new_statement, *module.body[index + 1 :]]
        return module.with_changes(body=body), result.count
    return module, 0


# --- questions about the target's module -----------------------------------------------------


def builtin_available(target: Target, *names: str) -> bool:
    """None of ``names`` is rebound in the module (so they refer to the builtins)."""
    return not any(is_bound_anywhere(target.module, name) for name in names)


def imports_module(target: Target, name: str) -> bool:
    """The module binds ``name`` only by one top-level ``import name`` above the function,
    and the function does not rebind it."""
    statement = module_binding(target.module, name, target.top_index)
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Import)
        and any(a.asname is None and code(a.name) == name for a in statement.body[0].names)
        and not is_bound_anywhere(target.node, name)
    )


# --- local expression rewrites ---------------------------------------------------------------

NodeRewriter = Callable[[cst.CSTNode], cst.CSTNode | None]


class _Local(cst.CSTTransformer):
    """Applies ``rewrite`` bottom-up to the function's own code (not nested defs or classes)."""

    def __init__(self, root: cst.FunctionDef, rewrite: NodeRewriter) -> None:
        self.root = root
        self.rewrite = rewrite
        self.count = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return node is self.root

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def on_leave(  # type: ignore[override]  # returns other node types on purpose
        self, original_node: cst.CSTNode, updated_node: cst.CSTNode
    ) -> cst.CSTNode | cst.RemovalSentinel | cst.FlattenSentinel[cst.CSTNode]:
        new = self.rewrite(updated_node)
        if new is None:
            return updated_node
        self.count += 1
        return new


def rewrite_locally(target: Target, rewrite: NodeRewriter) -> Rewrite | None:
    """A :class:`Rewrite` from applying ``rewrite`` to each node of the target's own code."""
    transformer = _Local(target.node, rewrite)
    new = target.node.visit(transformer)
    if not transformer.count:
        return None
    assert isinstance(new, cst.FunctionDef)
    return Rewrite(new, transformer.count)


# --- replacing nodes and inserting statements ------------------------------------------------


def blank_lines_before(statement: cst.BaseStatement) -> list[cst.EmptyLine]:
    """Blank (comment-free) lines that open ``statement``'s leading lines, to reuse for a
    statement inserted before it."""
    lines = getattr(statement, "leading_lines", ())
    blank: list[cst.EmptyLine] = []
    for line in lines:
        if line.comment is not None:
            break
        blank.append(cst.EmptyLine())
    return blank


class _ReplaceNodes(cst.CSTTransformer):
    def __init__(
        self,
        replacements: dict[int, cst.CSTNode],
        after: dict[int, list[cst.BaseStatement]] | None,
    ) -> None:
        self.replacements = replacements
        self.after = after or {}

    def on_leave(  # type: ignore[override]  # returns other node types on purpose
        self, original_node: cst.CSTNode, updated_node: cst.CSTNode
    ) -> cst.CSTNode | cst.RemovalSentinel | cst.FlattenSentinel[cst.CSTNode]:
        new = self.replacements.get(id(original_node), updated_node)
        following = self.after.get(id(original_node))
        return cst.FlattenSentinel([new, *following]) if following else new


def replace_nodes(
    root: cst.FunctionDef,
    replacements: dict[int, cst.CSTNode],
    after: dict[int, list[cst.BaseStatement]] | None = None,
) -> cst.FunctionDef:
    """``root`` with the nodes whose ``id()`` is a key (nodes of ``root`` itself) replaced,
    and the statements in ``after`` inserted after the statement with that ``id()``."""
    new = root.visit(_ReplaceNodes(replacements, after))
    assert isinstance(new, cst.FunctionDef)
    return new


class _ReplaceAndPrefix(cst.CSTTransformer):
    def __init__(
        self, replacements: dict[int, cst.CSTNode], before: dict[int, list[cst.BaseStatement]]
    ) -> None:
        self.replacements = replacements
        self.before = before

    def on_leave(  # type: ignore[override]  # returns other node types on purpose
        self, original_node: cst.CSTNode, updated_node: cst.CSTNode
    ) -> cst.CSTNode | cst.RemovalSentinel | cst.FlattenSentinel[cst.CSTNode]:
        new = self.replacements.get(id(original_node), updated_node)
        prefix = self.before.get(id(original_node))
        if not prefix:
            return new
        assert isinstance(new, cst.BaseCompoundStatement | cst.SimpleStatementLine)
        # The statement's comments and blank lines move up to the first inserted statement.
        first = prefix[0].with_changes(leading_lines=new.leading_lines)
        return cst.FlattenSentinel([first, *prefix[1:], new.with_changes(leading_lines=[])])


def replace_nodes_before(
    root: cst.FunctionDef,
    replacements: dict[int, cst.CSTNode],
    before: dict[int, list[cst.BaseStatement]],
) -> cst.FunctionDef:
    """``root`` with the nodes whose ``id()`` is a key replaced, and the statements in
    ``before`` inserted before the statement with that ``id()`` (which keeps its place in its
    block; its leading comments go to the first inserted statement)."""
    new = root.visit(_ReplaceAndPrefix(replacements, before))
    assert isinstance(new, cst.FunctionDef)
    return new
