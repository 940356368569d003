"""Savable time: what an edit *in* a function can remove, with pass-through frames folded.

A function's inclusive share says where time is spent below it, not where an edit of it
helps: a decorator's wrapper is on every stack and saves nothing. Each sample is owned by the
deepest repository frame on its stack that is not a pass-through; everything below that frame
(builtins, stdlib, third-party or native code) is time its line spends in machinery it calls,
which only an edit of that function can avoid. A function's savable share is the share of
samples it owns.

A pass-through frame only hands the call on to another repository function. It is recognised
from its code and its profile together:

- a wrapper: it takes ``*args`` or ``**kwargs``, forwards them in a call, has no loop, and
  spends little of its time itself (a decorator's ``wrapper``, a ``functools.wraps`` closure,
  a cache wrapper);
- a dispatcher: almost no time of its own, almost all of it on one line whose statement is a
  single call (``return f(...)``, ``x = f(...)``), and that line's time goes into one other
  repository function.

Its samples are then owned by its callee (the deeper repo frame) or, when it is the deepest,
by its caller; it is left out of call paths and is no target.
"""

from __future__ import annotations

import ast
import functools
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

Key = tuple[str, str]  # (absolute file, qualname)

WRAPPER_MAX_SELF = 0.2  # a forwarding wrapper does at most this share of its time itself
DISPATCH_MAX_SELF = 0.05  # a dispatcher at most this share
DISPATCH_LINE = 0.9  # share of its time on the one delegating line
DISPATCH_CALLEE = 0.9  # share of that time inside one repo function


@dataclass
class FunctionStats:
    """What the first pass over the stacks learnt about one repo function."""

    span: tuple[int, int]
    inclusive: int = 0
    own: int = 0
    lines: Counter[int] = field(default_factory=Counter)
    callees: Counter[Key] = field(default_factory=Counter)  # next repo frame below it


@functools.lru_cache(maxsize=256)
def _module(path: str, mtime_ns: int) -> ast.Module | None:
    try:
        return ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None


def _parsed(path: str) -> ast.Module | None:
    try:
        return _module(path, Path(path).stat().st_mtime_ns)
    except OSError:
        return None


def _function_at(module: ast.Module, span: tuple[int, int]) -> ast.AST | None:
    for node in ast.walk(module):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and span[0] <= node.lineno:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            if first == span[0] or node.lineno == span[0]:
                return node
    return None


def forwards_arguments(path: str, span: tuple[int, int]) -> bool:
    """The function takes ``*args``/``**kwargs``, passes them on in a call and has no loop."""
    module = _parsed(path)
    node = _function_at(module, span) if module is not None and span != (0, 0) else None
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return False
    star = node.args.vararg.arg if node.args.vararg else None
    double = node.args.kwarg.arg if node.args.kwarg else None
    if star is None and double is None:
        return False
    inner = list(ast.walk(node))[1:]
    if any(isinstance(n, ast.For | ast.While | ast.AsyncFor | ast.comprehension) for n in inner):
        return False
    for call in (n for n in inner if isinstance(n, ast.Call)):
        starred = {
            a.value.id
            for a in call.args
            if isinstance(a, ast.Starred) and isinstance(a.value, ast.Name)
        }
        spread = {
            k.value.id for k in call.keywords if k.arg is None and isinstance(k.value, ast.Name)
        }
        if (star is not None and star in starred) or (double is not None and double in spread):
            return True
    return False


def single_call_line(path: str, line: int) -> bool:
    """The statement on ``line`` is one call and nothing else, outside any loop:
    ``f(...)``, ``return f(...)``, ``x = f(...)`` (``await``/``yield from`` of it too), with no
    call in its arguments. A hot line inside a loop is iteration an edit could change."""
    try:
        mtime = Path(path).stat().st_mtime_ns
    except OSError:
        return False
    return _delegating_lines(path, mtime).get(line, False)


@functools.lru_cache(maxsize=256)
def _delegating_lines(path: str, mtime_ns: int) -> dict[int, bool]:
    found: dict[int, bool] = {}
    module = _module(path, mtime_ns)
    if module is None:
        return found

    def visit(node: ast.AST, in_loop: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                found.setdefault(child.lineno, not in_loop and _one_call(child))
            loop = isinstance(child, ast.For | ast.While | ast.AsyncFor)
            scope = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            visit(child, (in_loop or loop) and not scope)

    visit(module, False)
    return found


def _one_call(statement: ast.stmt) -> bool:
    if not isinstance(statement, ast.Return | ast.Expr | ast.Assign | ast.AnnAssign):
        return False
    value = statement.value
    if isinstance(value, ast.Await | ast.YieldFrom):
        value = value.value
    if not isinstance(value, ast.Call):
        return False
    return sum(isinstance(node, ast.Call) for node in ast.walk(value)) == 1


def passthrough(key: Key, stats: FunctionStats) -> bool:
    """Is this repo function a wrapper or dispatcher (see the module docstring)?"""
    if not stats.inclusive:
        return False
    own = stats.own / stats.inclusive
    if own <= WRAPPER_MAX_SELF and forwards_arguments(key[0], stats.span):
        return True
    if own > DISPATCH_MAX_SELF or not stats.lines or not stats.callees:
        return False
    line, on_line = stats.lines.most_common(1)[0]
    _, into = stats.callees.most_common(1)[0]
    return (
        on_line >= DISPATCH_LINE * stats.inclusive
        and into >= DISPATCH_CALLEE * stats.inclusive
        and single_call_line(key[0], line)
    )


@dataclass
class Savable:
    """Per repo function: samples owned, per line, and the most frequent call path."""

    owned: Counter[Key] = field(default_factory=Counter)
    lines: dict[Key, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    paths: dict[Key, Counter[tuple[str, ...]]] = field(default_factory=lambda: defaultdict(Counter))


def attribute(stacks: Iterable[tuple[Sequence[tuple[Key, int]], int]], skip: set[Key]) -> Savable:
    """Owners of samples. ``stacks``: the repo frames of each stack as (key, line), root
    first, with the stack's count; ``skip``: the pass-through functions."""
    result = Savable()
    for frames, count in stacks:
        kept = [(key, line) for key, line in frames if key not in skip]
        if not kept:
            continue
        owner, line = kept[-1]
        result.owned[owner] += count
        if line:
            result.lines[owner][line] += count
        chain: list[str] = []
        seen: set[Key] = set()
        for key, _ in kept:
            chain.append(key[1])
            if key not in seen:  # recursion: the outermost occurrence's path
                result.paths[key][tuple(chain)] += count
                seen.add(key)
    return result
