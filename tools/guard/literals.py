"""Literals that look like a workload's inputs: which ones, and where the workload has them.

A candidate that answers ``if n == 100000: return 9592`` is fast only on the benchmark. The
rule is deliberately narrow so ordinary guards pass: only equality (and membership) tests of a
parameter-derived value against a *large* literal count on their own, and any comparison
counts once the literal is one the workload itself contains.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Iterable

Value = int | float | str | bytes

# On its own, a literal must be big to look like an input: below 1000 sit HTTP statuses,
# ports, percentages and byte values. Once the workload has it, 100 is enough.
BIG_NUMBER = 1000  # |n| from which a number in an equality test looks like an input size
LONG_TEXT = 32  # length from which a string literal in an equality test looks like an input
MANY_ITEMS = 8  # a sequence literal this long compared with == looks like a copied input
WORKLOAD_NUMBER = 100  # smaller numbers in a workload are too common to track
WORKLOAD_TEXT = 8  # shorter strings in a workload are too common ("utf-8", "ascii") to track

_FOLDABLE: dict[type[ast.operator], Callable[[int, int], int]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
    ast.Pow: operator.pow,
    ast.LShift: operator.lshift,
}
_NUMBER = re.compile(r"(?<![\w.])\d[\d_]*(?![\w.])")
_STRING = re.compile(
    rf"\"([^\"\\\n]{{{WORKLOAD_TEXT},}})\"" + rf"|'([^'\\\n]{{{WORKLOAD_TEXT},}})'"
)


def fold(node: ast.AST, names: Callable[[str], Value | None] | None = None) -> Value | None:
    """The value of a constant expression (``100_000``, ``-5``, ``10**6``, ``2 * 500``), or of
    a name ``names`` knows; ``None`` when it is not one. Folding is bounded: huge powers and
    shifts are not computed."""
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float | str | bytes):
            return None
        return value
    if isinstance(node, ast.Name) and names is not None:
        return names(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = fold(node.operand, names)
        if isinstance(inner, int | float):
            return -inner if isinstance(node.op, ast.USub) else inner
        return None
    if isinstance(node, ast.BinOp) and type(node.op) in _FOLDABLE:
        left, right = fold(node.left, names), fold(node.right, names)
        if not (isinstance(left, int) and isinstance(right, int)):
            return None
        if isinstance(node.op, ast.Pow | ast.LShift) and not 0 <= right <= 64:
            return None
        if isinstance(node.op, ast.FloorDiv) and right == 0:
            return None
        return _FOLDABLE[type(node.op)](left, right)
    return None


def items(node: ast.AST) -> list[ast.expr] | None:
    """The elements of a tuple, list or set display; ``None`` for anything else."""
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return list(node.elts)
    return None


def notable(value: Value) -> bool:
    """Whether a workload's literal is distinctive enough to track in candidates."""
    if isinstance(value, int | float):
        return abs(value) >= WORKLOAD_NUMBER
    return len(value) >= WORKLOAD_TEXT


def workload_literals(sources: Iterable[str]) -> frozenset[Value]:
    """The notable literals of the workload files' texts (a regex scan when one does not
    parse, so a file for a newer Python still contributes)."""
    found: set[Value] = set()
    for text in sources:
        try:
            tree = ast.parse(text)
        except SyntaxError:
            found.update(int(m.replace("_", "")) for m in _NUMBER.findall(text))
            found.update(a or b for a, b in _STRING.findall(text))
            continue
        for node in ast.walk(tree):
            value = fold(node)
            if value is not None:
                found.add(value)
    return frozenset(v for v in found if notable(v))


# Long names (``pydantic_js_annotation_functions``, ``a.b.c``, ``x-forwarded-for``) are
# keys, not copied inputs; a hex digest or a sentence is not one of them.
_NAME_LIKE = re.compile(r"_*[A-Za-z]+\d{0,3}(?:[._\-]+[A-Za-z]+\d{0,3})*_*")


def looks_like_input(value: Value, source: str) -> bool:
    """A literal that, tested for equality with a parameter, looks like a benchmark input.

    Numbers below ``BIG_NUMBER``, powers of two and their predecessors (sizes, masks) and
    numbers written in hex, octal or binary (bit patterns, code points) are ordinary; so are
    strings shorter than ``LONG_TEXT`` and identifier-like names (modes, keys, dunders).
    """
    if isinstance(value, str | bytes):
        text = value if isinstance(value, str) else value.decode("latin-1")
        return len(text) >= LONG_TEXT and not _NAME_LIKE.fullmatch(text)
    if abs(value) < BIG_NUMBER:
        return False
    if re.match(r"[-+\s(]*0[xXoObB]", source):
        return False
    if isinstance(value, int):
        magnitude = abs(value)
        return magnitude & (magnitude - 1) != 0 and magnitude & (magnitude + 1) != 0
    return True


def shorten(text: str, limit: int = 40) -> str:
    """One line of at most ``limit`` characters, for a flag."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
