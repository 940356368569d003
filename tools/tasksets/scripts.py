"""What an imported workload script defines, does and needs (read with ``ast``, never run).

- ``gso_body()``: a GSO test script without its harness (docstrings, ``timeit.template``,
  ``main()``, the ``__main__`` block), so a test can be matched with the task's prob_script;
- ``strip_timeit_harness()``: a timeit script (``setup()``/``workload()`` and a module-level
  ``timeit.repeat(workload, …)`` with prints of its result) without the module-level timing,
  which would otherwise run on every import;
- ``network_calls()``: downloads a workload would attempt (perfagent runs workloads offline).
"""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeGuard

from perfagent.tools.tasksets.model import RowError

_NETWORK = re.compile(
    r"\b(requests\.(?:get|post|request)|urllib\.request\.urlopen|urlopen|urlretrieve"
    r"|hf_hub_download|snapshot_download|load_dataset|wget\.download)\s*\("
)


def parse(source: str, what: str) -> ast.Module:
    try:
        return ast.parse(source)
    except SyntaxError as exc:
        raise RowError(f"{what} is not valid Python (line {exc.lineno}: {exc.msg})") from exc


def functions(tree: ast.Module) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    """Top-level functions by name (the last definition wins, as at run time)."""
    return {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def require_functions(tree: ast.Module, what: str, names: Iterable[str]) -> None:
    defined = functions(tree)
    for name in names:
        if name not in defined:
            raise RowError(f"{what} defines no {name}() function")


def required_args(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    args = function.args
    positional = len(args.posonlyargs) + len(args.args) - len(args.defaults)
    keyword_only = sum(1 for default in args.kw_defaults if default is None)
    return positional + keyword_only


def returns_value(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether the function itself (not a nested one) has a ``return <value>``."""
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Return) and node.value is not None:
            return True
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return False


def network_calls(source: str) -> list[str]:
    return sorted(set(_NETWORK.findall(source)))


# -- GSO ----------------------------------------------------------------------------------------
def gso_body(tree: ast.Module) -> str:
    """A canonical dump of a GSO script without docstrings and harness."""
    body = [copy.deepcopy(node) for node in tree.body if not _is_gso_harness(node)]
    module = ast.Module(body=body, type_ignores=[])
    _drop_docstring(module)
    for node in ast.walk(module):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            _drop_docstring(node)
    return ast.dump(module)


def _is_gso_harness(node: ast.stmt) -> bool:
    if isinstance(node, ast.FunctionDef) and node.name == "main":
        return True
    if _is_main_guard(node):
        return True
    return (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Attribute)
        and isinstance(node.targets[0].value, ast.Name)
        and node.targets[0].value.id == "timeit"
        and node.targets[0].attr == "template"
    )


def _is_main_guard(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    sides = [node.test.left, *node.test.comparators]
    names = [s.id for s in sides if isinstance(s, ast.Name)]
    values = [s.value for s in sides if isinstance(s, ast.Constant)]
    return names == ["__name__"] and values == ["__main__"]


_Scope = ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def _drop_docstring(node: _Scope) -> None:
    first = node.body[0] if node.body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        node.body = node.body[1:] or [ast.Pass()]


# -- timeit scripts -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Harness:
    """The module-level timing a script did itself, now removed, and how it timed."""

    lines: list[tuple[int, int]]  # removed line ranges, 1-based, inclusive
    number: int | None = None  # timeit's number=, when a literal
    passes_setup: bool = False  # setup= was given to timeit (anything but its default)
    setup_function: str | None = None  # setup=NAME: the script's function timeit calls
    setup_statement: str | None = None  # setup="...": a statement timeit runs
    repeat: int | None = None  # timeit.repeat's repeat= (5 when omitted), 1 for timeit()
    function: str | None = None  # "timeit" or "repeat": what the script called
    unreadable_setup: bool = False  # setup= given as something else (a lambda, a call...)


def strip_timeit_harness(source: str, tree: ast.Module) -> tuple[str, Harness]:
    """Remove top-level statements that call timeit, and those that use what they bound
    (``runtimes = timeit.repeat(…)``, then ``print(statistics.mean(runtimes))``)."""
    modules, callables = _timeit_names(tree)
    bound: set[str] = set()
    removed: list[ast.stmt] = []
    first: ast.Call | None = None
    for node in tree.body:
        if isinstance(node, _DEFINITIONS) or _is_main_guard(node):
            continue
        calls = [c for c in ast.walk(node) if _is_timing(c, modules, callables)]
        if not calls and not _names(node, ast.Load) & bound:
            continue
        removed.append(node)
        bound |= _names(node, ast.Store)
        first = first or (calls[0] if calls else None)
    if not removed:
        return source, Harness([])
    lines = source.splitlines(keepends=True)
    ranges = []
    for node in removed:
        start = node.lineno
        while start > 1 and lines[start - 2].lstrip().startswith("#"):
            start -= 1  # the comment right above ("# Benchmark") goes with it
        ranges.append((start, node.end_lineno or node.lineno))
    gone = {i for start, end in ranges for i in range(start - 1, end)}
    kept = "".join(line for i, line in enumerate(lines) if i not in gone)
    facts = _timing_facts(first, tree) if first is not None else {}
    return kept, Harness(_merge(ranges), **facts)


# timeit's signatures: timeit(stmt, setup, timer, number, globals),
# repeat(stmt, setup, timer, repeat, number, globals), Timer(stmt, setup, timer, globals)
# with Timer(...).timeit(number) / .repeat(repeat, number).
_POSITIONS = {
    "timeit": ("stmt", "setup", "timer", "number", "globals"),
    "repeat": ("stmt", "setup", "timer", "repeat", "number", "globals"),
    "Timer": ("stmt", "setup", "timer", "globals"),
}
_TIMER_METHODS = {"timeit": ("number",), "repeat": ("repeat", "number")}


def _arguments(call: ast.Call, names: tuple[str, ...]) -> dict[str, ast.expr]:
    given = dict(zip(names, call.args, strict=False))
    given.update({k.arg: k.value for k in call.keywords if k.arg})
    return given


def _int(node: ast.expr | None) -> int | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    return None


def _timing_facts(call: ast.Call, tree: ast.Module) -> dict[str, Any]:
    """number / setup / repeat of the script's first timeit call, read from its arguments."""
    func = call.func
    name = (
        func.id
        if isinstance(func, ast.Name)
        else func.attr
        if isinstance(func, ast.Attribute)
        else ""
    )
    args = _arguments(call, _POSITIONS.get(name, ()))
    function = name
    if name == "Timer":
        # the method called on the Timer: Timer(...).repeat(repeat=3, number=5)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.value is call
                and node.func.attr in _TIMER_METHODS
            ):
                function = node.func.attr
                args.update(_arguments(node, _TIMER_METHODS[function]))
    facts: dict[str, Any] = {"function": function if function in _TIMER_METHODS else None}
    facts["number"] = _int(args.get("number"))
    repeat = _int(args.get("repeat"))
    facts["repeat"] = repeat if repeat is not None else {"repeat": 5, "timeit": 1}.get(function)
    setup = args.get("setup")
    if setup is None or (isinstance(setup, ast.Constant) and setup.value == "pass"):
        return facts
    facts["passes_setup"] = True
    if isinstance(setup, ast.Name):
        facts["setup_function"] = setup.id
    elif isinstance(setup, ast.Constant) and isinstance(setup.value, str):
        facts["setup_statement"] = setup.value
    else:
        facts["unreadable_setup"] = True
    return facts


_DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _names(node: ast.AST, context: type[ast.expr_context]) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, context)}


def _timeit_names(tree: ast.Module) -> tuple[set[str], set[str]]:
    modules: set[str] = set()
    callables: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {a.asname or a.name for a in node.names if a.name == "timeit"}
        elif isinstance(node, ast.ImportFrom) and node.module == "timeit":
            callables |= {a.asname or a.name for a in node.names}
    return modules, callables


def _is_timing(node: ast.AST, modules: set[str], callables: set[str]) -> TypeGuard[ast.Call]:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Name):
        return func.id in callables
    return (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id in modules
        and func.attr in ("timeit", "repeat", "Timer")
    )


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def describe_lines(ranges: list[tuple[int, int]]) -> str:
    """[(17, 17), (19, 20)] → "line 17, lines 19-20"."""
    return ", ".join(f"line {a}" if a == b else f"lines {a}-{b}" for a, b in ranges)
