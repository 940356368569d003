"""Shared machinery of the rule transforms: finding the target function, name analysis, loops.

A rule is written as a *function rewriter*: it gets the target ``FunctionDef`` (and the module,
for questions such as "is ``sorted`` shadowed?") and returns the rewritten function, the number
of sites it changed and any statements to put at module level just before the top-level
statement that holds the function. :func:`rewrite_function` does the locating and splicing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import libcst as cst


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

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.stack.append(node.name.value)
        return not self.done

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.ClassDef:
        self.stack.pop()
        return updated_node

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        if not self.done and _normalize(self._qualname(node.name.value)) == self.wanted:
            self.done = True
            self.result = self.rewriter(Target(node, self.module, self.top_index))
            self.stack.append(_TARGET)
            return False
        self.stack.append(node.name.value + ".<locals>")
        return not self.done

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


# --- name analysis ---------------------------------------------------------------------------


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
    """Every identifier used under ``root`` (to pick fresh names)."""
    collector = _Collect(None)
    root.visit(collector)
    return {occ.node.value for occ in collector.found} | _labels(root)


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
    return any(is_binding(occ) for occ in occurrences(root, name))


def builtin_available(target: Target, *names: str) -> bool:
    """None of ``names`` is rebound in the module (so they refer to the builtins)."""
    return not any(is_bound_anywhere(target.module, name) for name in names)


# --- loops -----------------------------------------------------------------------------------


def in_loop(ancestors: Sequence[cst.CSTNode], node: cst.CSTNode) -> bool:
    """Whether ``node`` runs once per iteration of a ``for``/``while`` loop among its ancestors."""
    return enclosing_loop(ancestors, node, outermost=False) is not None


def enclosing_loop(
    ancestors: Sequence[cst.CSTNode], node: cst.CSTNode, *, outermost: bool
) -> cst.For | cst.While | None:
    """The innermost (or outermost) loop whose body (or ``while`` test) contains ``node``."""
    found: cst.For | cst.While | None = None
    path = (*ancestors[1:], node)
    for parent, child in zip(ancestors, path, strict=True):
        repeated = (isinstance(parent, cst.For) and child is parent.body) or (
            isinstance(parent, cst.While) and (child is parent.body or child is parent.test)
        )
        if repeated:
            assert isinstance(parent, cst.For | cst.While)
            if outermost:
                return parent
            found = parent
    return found


def walk(root: cst.CSTNode) -> Iterator[tuple[cst.CSTNode, tuple[cst.CSTNode, ...]]]:
    """Every node under ``root`` with its ancestors, skipping nested defs, lambdas and classes."""
    stack: list[tuple[cst.CSTNode, tuple[cst.CSTNode, ...]]] = [(root, ())]
    while stack:
        node, ancestors = stack.pop()
        yield node, ancestors
        if node is not root and isinstance(node, cst.FunctionDef | cst.Lambda | cst.ClassDef):
            continue
        inner = (*ancestors, node)
        stack.extend((child, inner) for child in reversed(node.children))


def is_constant_string(node: cst.BaseExpression) -> bool:
    """A plain string/bytes literal or an implicit concatenation of them (no f-strings)."""
    if isinstance(node, cst.SimpleString):
        return True
    if isinstance(node, cst.ConcatenatedString):
        return is_constant_string(node.left) and is_constant_string(node.right)
    return False


def is_hashable_literal(node: cst.BaseExpression) -> bool:
    """A literal whose value is certainly hashable: numbers, strings, None/True/False, tuples."""
    if isinstance(node, cst.Integer | cst.Float | cst.Imaginary) or is_constant_string(node):
        return True
    if isinstance(node, cst.Name):
        return node.value in {"None", "True", "False"}
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        return isinstance(node.expression, cst.Integer | cst.Float)
    if isinstance(node, cst.Tuple):
        return all(
            isinstance(el, cst.Element) and is_hashable_literal(el.value) for el in node.elements
        )
    return False


def code(node: cst.CSTNode) -> str:
    """Source of a node (for messages and structural comparison)."""
    return cst.Module(body=[]).code_for_node(node)


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


# Calls known to return hashable values (str, numbers, tuples, frozensets).
_HASHABLE_CALLS = {"str", "int", "float", "bool", "bytes", "len", "tuple", "frozenset", "repr"}
_HASHABLE_CALLS |= {"ord", "chr", "id", "hash", "abs", "round", "type"}
_STR_METHODS = {"lower", "upper", "strip", "lstrip", "rstrip", "casefold", "title", "format"}
_STR_METHODS |= {"replace", "join", "removeprefix", "removesuffix", "capitalize"}
_UNHASHABLE_VALUES = cst.List | cst.Dict | cst.Set | cst.ListComp | cst.DictComp | cst.SetComp


def _bound_unhashable(function: cst.FunctionDef, name: str) -> bool:
    """Whether the function visibly binds ``name`` to a list/dict/set (display or call) or
    declares a parameter ``name`` annotated as one."""
    for node, _ in walk(function):
        value: cst.BaseExpression | None = None
        if isinstance(node, cst.Assign) and any(
            isinstance(t.target, cst.Name) and t.target.value == name for t in node.targets
        ):
            value = node.value
        elif (
            isinstance(node, cst.AnnAssign | cst.Param)
            and code(node.target if isinstance(node, cst.AnnAssign) else node.name) == name
        ):
            value = getattr(node, "value", None) or getattr(node, "default", None)
            annotation = node.annotation
            if annotation is not None and any(
                word in code(annotation.annotation).lower() for word in ("list", "dict", "set")
            ):
                return True
        if value is not None and (
            isinstance(value, _UNHASHABLE_VALUES)
            or (
                isinstance(value, cst.Call)
                and isinstance(value.func, cst.Name)
                and value.func.value in ("list", "dict", "set", "bytearray")
            )
        ):
            return True
    return False


def likely_hashable(expr: cst.BaseExpression, function: cst.FunctionDef) -> bool:
    """Conservative guess that ``expr`` evaluates to a hashable value.

    Accepted: hashable literals, f-strings, names not visibly bound to a list/dict/set,
    attribute and subscript reads, calls of builtins returning hashables and of common str
    methods, and tuples/arithmetic of accepted parts. Anything else is refused.
    """
    if is_hashable_literal(expr) or isinstance(expr, cst.FormattedString):
        return True
    if isinstance(expr, cst.Name):
        return not _bound_unhashable(function, expr.value)
    if isinstance(expr, cst.Attribute | cst.Subscript):
        return True
    if isinstance(expr, cst.Tuple):
        return all(
            isinstance(el, cst.Element) and likely_hashable(el.value, function)
            for el in expr.elements
        )
    if isinstance(expr, cst.BinaryOperation):
        return likely_hashable(expr.left, function) and likely_hashable(expr.right, function)
    if isinstance(expr, cst.Call):
        func = expr.func
        if isinstance(func, cst.Name):
            return func.value in _HASHABLE_CALLS
        return isinstance(func, cst.Attribute) and func.attr.value in _STR_METHODS
    return False


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


# --- statements inserted before a loop -------------------------------------------------------


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


def repeated_parts(loop: cst.For | cst.While) -> tuple[cst.CSTNode, ...]:
    """The parts of a loop that run once per iteration: the body (and a ``while`` test)."""
    return (loop.body,) if isinstance(loop, cst.For) else (loop.test, loop.body)


def is_builtin_call(node: cst.CSTNode, *names: str) -> bool:
    """A call of one of ``names`` by a bare name with plain positional arguments only
    (whether the name is the builtin is the caller's check: :func:`builtin_available`)."""
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Name)
        and node.func.value in names
        and all(arg.keyword is None and not arg.star for arg in node.args)
    )


def all_occurrences(root: cst.CSTNode) -> list[Occurrence]:
    """Every reference or binding of every variable under ``root`` (nested scopes too)."""
    collector = _Collect(None)
    root.visit(collector)
    return collector.found


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
