"""The guard's third group of checks on one module: code that reads the harness at run time.

Timers, stack frames, ``sys.modules`` probes for a test runner or the workload, imports of
``__main__``, strings naming perfagent, a test run's variables or a protected file, and cache
helpers used other than as decorators. A mixin of ``scan.py``'s visitor, which supplies the
module facts and records the findings; kept apart so each module holds one kind of check.
"""

from __future__ import annotations

import ast
import posixpath
import re

from perfagent.tools.edit.paths import matches_glob, normalize_path
from perfagent.tools.guard.catalog import (
    CACHE_CALLS,
    FRAME_ATTRS,
    INTROSPECTION,
    MEMBERSHIP,
    TEST_VARIABLES,
    WATCHED_MODULES,
)
from perfagent.tools.guard.findings import Kind
from perfagent.tools.guard.literals import shorten
from perfagent.tools.guard.scopes import Module


class HarnessChecks(ast.NodeVisitor):
    """The visitor methods and judgments of run-time introspection (``_Scanner`` in
    ``scan.py`` also calls ``_introspection`` on calls and ``_module_check`` on comparisons)."""

    # Set by the scanner.
    module: Module
    protected: list[str]  # normalized globs
    chained: set[int]  # ids of expression chains already judged

    def add(self, kind: Kind, node: ast.AST, detail: str, scope: str | None = None) -> None:
        raise NotImplementedError  # the scanner records findings

    def visit_Name(self, node: ast.Name) -> None:
        if not self._cache_helper(node):
            self._introspection(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if not self._cache_helper(node):
            self._introspection(node)
            self.generic_visit(node)

    def _cache_helper(self, node: ast.Name | ast.Attribute) -> bool:
        """``functools.lru_cache(maxsize=None)(f)`` or ``memo = functools.cache``: a cache
        helper used other than as a decorator (those are judged with their function)."""
        helper = self.module.dotted(node)
        if helper not in CACHE_CALLS:
            return False
        self.add("cache", node, f"uses cache helper {helper}")
        return True

    def visit_Subscript(self, node: ast.Subscript) -> None:
        self._introspection(node)
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        if any(alias.name == "__main__" for alias in node.names):
            self.add("introspection", node, "imports __main__ (the running script)")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module == "__main__":
            self.add("introspection", node, "imports from __main__ (the running script)")

    def visit_Constant(self, node: ast.Constant) -> None:
        if not isinstance(node.value, str):
            return
        text = node.value
        if "perfagent" in text.lower():  # its variables, temp dirs, driver and plugin names
            self.add("introspection", node, f"refers to {shorten(repr(text))} (names perfagent)")
        elif text in TEST_VARIABLES:
            self.add("introspection", node, f"refers to {text!r} (detects a test run)")
        elif self._names_protected(text):
            self.add("introspection", node, f"refers to protected file {text!r}")

    def _names_protected(self, text: str) -> bool:
        if not 3 <= len(text) <= 200 or any(c.isspace() for c in text):
            return False
        if "/" not in text and not text.endswith(".py"):
            return False
        path = normalize_path(text)
        base = posixpath.basename(path)
        for pattern in self.protected:
            if matches_glob(path, pattern):
                return True
            # A workload named by its full path is still found by its file name.
            literal = not re.search(r"[*?\[]", pattern)
            if literal and base.endswith(".py") and posixpath.basename(pattern) == base:
                return True
        return False

    def _introspection(self, node: ast.expr) -> None:
        """Judge an expression chain (``sys._getframe(1).f_back.f_globals``) once, at its
        outermost node, by the most specific thing it uses."""
        if id(node) in self.chained:
            return
        chain: list[ast.expr] = []
        current: ast.expr = node
        while isinstance(current, ast.Attribute | ast.Subscript | ast.Call):
            chain.append(current)
            current = current.func if isinstance(current, ast.Call) else current.value
        chain.append(current)
        self.chained.update(id(n) for n in chain)
        for sub in reversed(chain):
            reason = self._uses(sub)
            if reason:
                self.add("introspection", node, reason)
                return
        for sub in chain:
            if isinstance(sub, ast.Attribute) and sub.attr in FRAME_ATTRS:
                self.add("introspection", node, f"reads .{sub.attr} ({FRAME_ATTRS[sub.attr]})")
                return

    def _uses(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name | ast.Attribute):
            dotted = self.module.dotted(node) or ""
            for name, reason in INTROSPECTION.items():
                if dotted == name or dotted.startswith(name + "."):
                    return f"uses {name} ({reason})"
        key: ast.expr | None = None
        if isinstance(node, ast.Subscript) and self.module.dotted(node.value) == "sys.modules":
            key = node.slice
        elif isinstance(node, ast.Call) and node.args and self._reads_modules(node.func):
            key = node.args[0]
        if isinstance(key, ast.Constant) and key.value in WATCHED_MODULES:
            return f"reads sys.modules[{key.value!r}] ({WATCHED_MODULES[key.value]})"
        return None

    def _reads_modules(self, func: ast.expr) -> bool:
        return self.module.dotted(func) in ("sys.modules.get", "sys.modules.__getitem__")

    def _module_check(self, op: ast.cmpop, left: ast.expr, right: ast.expr) -> str | None:
        """``"pytest" in sys.modules``: whether a test runner or the workload is loaded."""
        if not isinstance(op, MEMBERSHIP) or self.module.dotted(right) != "sys.modules":
            return None
        if isinstance(left, ast.Constant) and left.value in WATCHED_MODULES:
            return f"checks sys.modules for {left.value!r} ({WATCHED_MODULES[left.value]})"
        return None
