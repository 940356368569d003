"""The static reward-hack checks on one module: caches that outlive a call, special-cased
inputs and run-time introspection of the harness.

Written on ``ast`` rather than libcst: the guard only reads code, needs line numbers and
scopes but never formatting, and ``ast`` gives ``lineno`` on every node without a metadata
wrapper, ``ast.unparse`` for a normalized text to compare before with after, and is the
parser the workload's interpreter itself uses.

The third group, run-time introspection of the harness, is in ``harness.py``: a mixin of the
visitor here, which keeps the scopes, judges state and special-casing, and records findings.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

from perfagent.tools.edit.paths import normalize_path
from perfagent.tools.guard.catalog import (
    CACHE_CALLS,
    CACHE_WORDS,
    DISK_STORES,
    EQUALITY,
    FILE_WRITERS,
    MEMBERSHIP,
    MUTATORS,
    STORE_FIRST,
)
from perfagent.tools.guard.findings import Finding, Kind
from perfagent.tools.guard.harness import HarnessChecks
from perfagent.tools.guard.literals import MANY_ITEMS, Value, fold, items, looks_like_input, shorten
from perfagent.tools.guard.scopes import (
    ClassFacts,
    Module,
    Scope,
    defs_in,
    function_scope,
    mentions,
)


def scan(source: str, workload: frozenset[Value], protected: Sequence[str]) -> list[Finding]:
    """Every finding in ``source`` (``SyntaxError`` when it does not parse)."""
    tree = ast.parse(source)
    scanner = _Scanner(tree, source, workload, protected)
    scanner.visit(tree)
    return scanner.found


class _Scanner(HarnessChecks):
    """One pass over a module: checks 1 and 2 here, 3 (the harness) in ``HarnessChecks``."""

    def __init__(
        self, tree: ast.Module, source: str, workload: frozenset[Value], protected: Sequence[str]
    ) -> None:
        self.module = Module.of(tree)
        self.source = source
        self.workload = workload
        self.protected = [normalize_path(p) for p in protected]
        self.classes = {
            s.name: ClassFacts.of(s, s.name) for s in tree.body if isinstance(s, ast.ClassDef)
        }
        module_names = frozenset(self.module.names)
        self.scopes = [
            Scope("module", "<module>", locals=module_names, functions=defs_in(tree.body))
        ]
        self.found: list[Finding] = []
        # Ids of nodes already judged, so one thing gives one flag: literals a comparison
        # covered (not judged again as a lookup table) and expression chains.
        self.compared: set[int] = set()
        self.chained: set[int] = set()

    @property
    def scope(self) -> Scope:
        return self.scopes[-1]

    def add(self, kind: Kind, node: ast.AST, detail: str, scope: str | None = None) -> None:
        line = getattr(node, "lineno", 0)
        self.found.append(Finding(kind, line, scope or self.scope.qualname, detail))

    # -- scopes -----------------------------------------------------------------------------
    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        qualname = self.scope.child_qualname(node.name)
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            name = self.module.dotted(target)
            if name and (name in CACHE_CALLS or CACHE_WORDS.search(name.split(".")[-1])):
                self.add("cache", decorator, f"cache decorator @{name}", qualname)
            else:
                self.visit(decorator)
        for default in [*node.args.defaults, *node.args.kw_defaults]:
            if default is not None:
                self.visit(default)
        self.scopes.append(function_scope(node, self.scope, self.module))
        for stmt in node.body:
            self.visit(stmt)
        self.scopes.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for default in node.args.defaults:
            self.visit(default)
        self.scopes.append(function_scope(node, self.scope, self.module))
        self.visit(node.body)
        self.scopes.pop()

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for outer in [*node.decorator_list, *node.bases, *node.keywords]:
            self.visit(outer)
        qualname = self.scope.child_qualname(node.name)
        facts = ClassFacts.of(node, qualname)
        self.scopes.append(Scope("class", qualname, cls=facts, functions=defs_in(node.body)))
        for stmt in node.body:
            self.visit(stmt)
        self.scopes.pop()

    def visit_Expr(self, node: ast.Expr) -> None:
        if not (isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            self.generic_visit(node)  # a docstring may name any file or variable

    # -- 1. state that outlives the call ----------------------------------------------------
    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._store(target, node.value)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._store(node.target, node.value)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._store(node.target, node.value)
        self.generic_visit(node)

    def _store(self, target: ast.expr, value: ast.expr) -> None:
        if isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                self._store(element, value)
        elif isinstance(target, ast.Starred):
            self._store(target.value, value)
        elif isinstance(target, ast.Name):
            scope = self.scope
            if target.id in scope.declared_global and mentions(value, scope.tainted):
                self.add("cache", target, f"rebinds global {target.id} with input-derived data")
        elif isinstance(target, ast.Subscript | ast.Attribute):
            data: list[ast.expr] = [value]
            node: ast.expr = target
            while isinstance(node, ast.Subscript | ast.Attribute):
                if isinstance(node, ast.Subscript):
                    data.append(node.slice)
                node = node.value
            self._write(target.value if isinstance(target, ast.Subscript) else target, data)

    def _write(self, container: ast.expr, data: Sequence[ast.expr], tail: str = "") -> None:
        """``container`` (plus attribute ``tail``) is stored into with ``data``."""
        owner = self._owner(container, tail)
        if owner is None:
            return
        where, label = owner
        if where == "default":
            self.add("cache", container, f"uses mutable default argument {label} as a memo")
        elif where == "function":
            self.add("cache", container, f"stores state on function object {label}")
        elif any(mentions(d, self.scope.tainted) for d in data):
            self.add("cache", container, f"writes {where}-level {label} with input-derived data")

    def _owner(self, node: ast.expr, tail: str = "") -> tuple[str, str] | None:
        """Where a container lives when it outlives the call: ``(where, label)``."""
        attrs = [tail] if tail else []
        while isinstance(node, ast.Subscript | ast.Attribute):
            if isinstance(node, ast.Attribute):
                attrs.append(node.attr)
            node = node.value
        attrs.reverse()  # from the root outwards
        scope, cls = self.scope, self.scope.cls
        if isinstance(node, ast.Call):
            called = self.module.dotted(node.func)
            if called == "globals":
                return ("module", "globals()")
            is_self = [a.id for a in node.args if isinstance(a, ast.Name)] == [scope.self_name]
            if called == "type" and is_self and cls is not None and attrs:
                return ("class", f"{cls.qualname}.{attrs[0]}")
            return None
        if not isinstance(node, ast.Name):
            return None
        name = node.id
        if name in scope.declared_global:
            return ("module", name)
        if name in scope.mutable_defaults:
            return ("default", name)
        dunder = bool(attrs) and attrs[0].startswith("__")
        if attrs and not dunder and self._is_function(name):
            return ("function", f"{name}.{attrs[0]}")
        if name == scope.self_name and cls is not None:
            if attrs[:1] == ["__class__"] and len(attrs) > 1:
                return ("class", f"{cls.qualname}.{attrs[1]}")
            if attrs and attrs[0] in cls.attrs and attrs[0] not in cls.instance_attrs:
                return ("class", f"{cls.qualname}.{attrs[0]}")
            return None
        if scope.kind != "function" or name in scope.locals or name in scope.enclosing_locals:
            return None  # a local, or a closure's cell (a per-call helper memo is fine)
        if name in self.classes:
            attrs_of = self.classes[name].attrs
            return ("class", f"{name}.{attrs[0]}") if attrs and attrs[0] in attrs_of else None
        # Only the module's own variables: a function or class, or a name imported from
        # elsewhere (``Submodule.add(...)``), is not taken for a container.
        if name in self.module.variables:
            return ("module", name)
        return None

    def _is_function(self, name: str) -> bool:
        scope = self.scope
        if name in scope.functions:
            return True
        return name in self.module.functions and name not in scope.locals

    def visit_Call(self, node: ast.Call) -> None:
        called = self.module.dotted(node.func)
        data = [*node.args, *(k.value for k in node.keywords)]
        if called in DISK_STORES:
            self.add("cache", node, f"stores across runs with {called}()")
        elif called == "open" and _opens_for_writing(node):
            self.add("cache", node, "writes a file with open() (state across runs)")
        elif isinstance(node.func, ast.Attribute) and node.func.attr in FILE_WRITERS:
            self.add("cache", node, f"writes a file with .{node.func.attr}() (state across runs)")
        elif isinstance(node.func, ast.Attribute) and node.func.attr in MUTATORS:
            self._write(node.func.value, data)
        elif called in STORE_FIRST and node.args:
            self._write(node.args[0], data[1:])
        elif called == "setattr" and len(node.args) == 3:
            name = node.args[1]
            attr = name.value if isinstance(name, ast.Constant) else "<dynamic>"
            self._write(node.args[0], data[1:], tail=str(attr))
        self._introspection(node)
        self.generic_visit(node)

    # -- 2. special-cased inputs ------------------------------------------------------------
    def visit_Compare(self, node: ast.Compare) -> None:
        operands = [node.left, *node.comparators]
        for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
            watched = self._module_check(op, left, right)
            if watched:
                self.add("introspection", node, watched)
                continue
            for literal, subject in ((right, left), (left, right)):
                if self._literal(literal, named=True) is None:
                    continue
                if self._literal(subject, named=True) is None:
                    shown = self._judge(op, subject, literal)
                    if shown is not None:
                        what = f"compares {shorten(ast.unparse(subject))} with {shown}"
                        self.add("special-casing", node, what)
                    self.compared.add(id(literal))
                break
        self.generic_visit(node)

    def visit_Match(self, node: ast.Match) -> None:
        for case in node.cases:
            for pattern in ast.walk(case.pattern):
                if isinstance(pattern, ast.MatchValue):
                    shown = self._judge(ast.Eq(), node.subject, pattern.value)
                    if shown is not None:
                        what = f"matches {shorten(ast.unparse(node.subject))} against {shown}"
                        self.add("special-casing", pattern, what)
        self.generic_visit(node)

    def visit_Dict(self, node: ast.Dict) -> None:
        self._table(node, [k for k in node.keys if k is not None], "lookup table keyed by")
        self.generic_visit(node)

    def visit_Set(self, node: ast.Set) -> None:
        self._table(node, node.elts, "literal set containing")
        self.generic_visit(node)

    def _table(self, node: ast.expr, keys: list[ast.expr], what: str) -> None:
        if id(node) in self.compared:
            return
        for key in keys:
            shown = self._from_workload(key)
            if shown is not None:
                self.add("special-casing", node, f"{what} {shown}")
                return

    def _literal(self, node: ast.expr, named: bool) -> list[tuple[ast.expr, Value]] | None:
        """The literal's elements with their values (one for a scalar); ``None`` when
        ``node`` is not a literal. ``named`` also reads module constants bound once."""
        names = self._constant if named else None
        value = fold(node, names)
        if value is not None:
            return [(node, value)]
        elements = items(node)
        if not elements:
            return None
        values = [(e, fold(e, names)) for e in elements]
        found = [(e, v) for e, v in values if v is not None]
        return found if len(found) == len(values) else None

    def _constant(self, name: str) -> Value | None:
        return None if name in self.scope.locals else self.module.constants.get(name)

    def _from_workload(self, node: ast.expr) -> str | None:
        """How to show the first of ``node``'s literals that the workload also has."""
        for element, value in self._literal(node, named=True) or []:
            if value in self.workload:
                shown = _show(element)
                if isinstance(element, ast.Name):
                    shown = f"{shown} = {shorten(repr(value))}"
                return f"{shown} (a literal from the workload)"
        return None

    def _judge(self, op: ast.cmpop, subject: ast.expr, literal: ast.expr) -> str | None:
        """How to show ``literal`` when comparing ``subject`` with it special-cases an
        input, else ``None``. A workload's literal counts in any comparison; otherwise only
        an equality or membership test of a value computed from the parameters, with a
        literal written out (a named constant states intent and is left alone)."""
        from_workload = self._from_workload(literal)
        if from_workload is not None:
            return from_workload
        elements = self._literal(literal, named=False)
        if elements is None or not mentions(subject, self.scope.tainted):
            return None
        if not isinstance(op, (*EQUALITY, *MEMBERSHIP)):
            return None
        if isinstance(op, EQUALITY) and items(literal) and len(elements) >= MANY_ITEMS:
            return f"{_show(literal)} ({len(elements)} items)"
        hashed = isinstance(subject, ast.Call) and self.module.dotted(subject.func) in (
            "hash",
            "id",
        )
        for element, value in elements:
            if hashed and isinstance(value, int | float):
                return _show(element)
            if looks_like_input(value, ast.get_source_segment(self.source, element) or ""):
                return _show(element)
        return None


def _opens_for_writing(call: ast.Call) -> bool:
    modes = [k.value for k in call.keywords if k.arg == "mode"] + call.args[1:2]
    texts = [m.value for m in modes if isinstance(m, ast.Constant) and isinstance(m.value, str)]
    return any(set(text) & set("wax+") for text in texts)


def _show(node: ast.AST) -> str:
    return shorten(ast.unparse(node))
