"""What the rule transforms read off the syntax alone: the walk, loops, literals, hashability.

Each helper answers from one libcst tree, without name analysis (``_names.py``): which nodes
run per iteration of a loop, which expressions are constant or (likely) hashable, the source
of a node. Re-exported by ``_base.py``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import libcst as cst


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


def named_assignment(node: cst.CSTNode) -> tuple[cst.Name, cst.BaseExpression] | None:
    """``(name, value)`` for the small statement ``name = value`` or ``name: ann = value``
    (one target, a plain name)."""
    if isinstance(node, cst.Assign) and len(node.targets) == 1:
        target, value = node.targets[0].target, node.value
    elif isinstance(node, cst.AnnAssign) and node.value is not None:
        target, value = node.target, node.value
    else:
        return None
    return (target, value) if isinstance(target, cst.Name) else None


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


def repeated_parts(loop: cst.For | cst.While) -> tuple[cst.CSTNode, ...]:
    """The parts of a loop that run once per iteration: the body (and a ``while`` test)."""
    return (loop.body,) if isinstance(loop, cst.For) else (loop.test, loop.body)


# --- literals and calls ----------------------------------------------------------------------


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


def is_builtin_call(node: cst.CSTNode, *names: str) -> bool:
    """A call of one of ``names`` by a bare name with plain positional arguments only
    (whether the name is the builtin is the caller's check: :func:`builtin_available`)."""
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Name)
        and node.func.value in names
        and all(arg.keyword is None and not arg.star for arg in node.args)
    )


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
