"""What a model needs to see to rewrite one function, within a size budget.

The function itself always; then the file's imports and the enclosing class's header; then
functions and methods it calls that are defined in the repo, in call order, while they fit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from perfagent.tools.edit.locate import FunctionInfo, Scan, find_function, read_source, scan
from perfagent.tools.edit.text import split_lines


@dataclass(frozen=True)
class Callee:
    path: str  # relative to the repo root, ``/``-separated
    qualname: str
    start_line: int
    end_line: int
    source: str


@dataclass(frozen=True)
class FunctionContext:
    target: FunctionInfo
    path: str
    source: str  # the function, decorators included, exactly as in the file
    imports: str  # the module's top-level import statements
    class_header: str | None  # decorators + class line + docstring + class-level statements
    callees: tuple[Callee, ...]
    omitted: tuple[str, ...]  # ``path::qualname`` of callees left out to stay in budget

    def render(self) -> str:
        """The context as one prompt-ready text."""
        t = self.target
        parts = [f"# {self.path}"]
        if self.imports:
            parts += ["## Imports", self.imports.rstrip()]
        if self.class_header:
            parts += [
                f"## Class {t.class_qualname} (other members omitted)",
                self.class_header.rstrip(),
            ]
        parts += [
            f"## {self.path}::{t.qualname} (lines {t.start_line}-{t.end_line})",
            self.source.rstrip(),
        ]
        if self.callees:
            parts.append("## Functions it calls, defined in this repository")
            for c in self.callees:
                parts += [f"# {c.path}::{c.qualname} (lines {c.start_line}-{c.end_line})"]
                parts.append(c.source.rstrip())
        if self.omitted:
            parts.append("## Also called, left out for size: " + ", ".join(self.omitted))
        return "\n".join(parts) + "\n"


def _lines(source_lines: list[str], start: int, end: int) -> str:
    return "\n".join(source_lines[start - 1 : end]) + "\n"


def _module_imports(scanned: Scan, lines: list[str]) -> str:
    """Top-level imports, also those inside top-level ``try``/``if`` blocks."""
    positions = scanned.positions
    out = []

    def walk(body: list[cst.BaseStatement]) -> None:
        for stmt in body:
            if isinstance(stmt, cst.SimpleStatementLine) and any(
                isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body
            ):
                pos = positions[stmt]
                out.append(_lines(lines, pos.start.line, pos.end.line).strip() + "\n")
            elif isinstance(stmt, (cst.Try, cst.If)):
                blocks: list[cst.BaseSuite] = [stmt.body]
                if isinstance(stmt, cst.Try):
                    blocks += [h.body for h in stmt.handlers]
                elif isinstance(stmt.orelse, cst.Else):
                    blocks.append(stmt.orelse.body)
                for block in blocks:
                    if isinstance(block, cst.IndentedBlock):
                        walk(list(block.body))

    walk(list(scanned.module.body))
    return "".join(out)


def _class_header(scanned: Scan, lines: list[str], class_qualname: str) -> str | None:
    cls = next((c for c in scanned.classes if c.qualname == class_qualname), None)
    if cls is None:
        return None
    body = cls.node.body
    if not isinstance(body, cst.IndentedBlock):
        return _lines(lines, cls.start_line, cls.start_line)
    positions = scanned.positions
    first = positions[body.body[0]].start.line if body.body else cls.end_line + 1
    out = _lines(lines, cls.start_line, first - 1)
    indent = ""
    for stmt in body.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            pos = positions[stmt]
            out += _lines(lines, pos.start.line, pos.end.line)
            indent = lines[pos.start.line - 1][: pos.start.column]
    return out + f"{indent or '    '}...\n"


@dataclass(frozen=True)
class _Call:
    name: str
    on: str | None  # "self"/"cls", an imported module's local name, or None for a bare name


class _Calls(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[_Call] = []

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Name):
            call = _Call(func.value, None)
        elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            call = _Call(func.attr.value, func.value.value)
        else:
            return
        if call not in self.calls:
            self.calls.append(call)


class _Imports(cst.CSTVisitor):
    """Local name → (module, attribute) for ``from m import a``; (module, None) for modules."""

    def __init__(self) -> None:
        super().__init__()
        self.names: dict[str, tuple[str, str | None]] = {}

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            dotted = cst.Module([]).code_for_node(alias.name)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self.names[alias.asname.name.value] = (dotted, None)
            else:
                top = dotted.split(".")[0]
                self.names[top] = (top, None)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            return
        module = "." * len(node.relative)
        if node.module is not None:
            module += cst.Module([]).code_for_node(node.module)
        for alias in node.names:
            name = cst.Module([]).code_for_node(alias.name)
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            self.names[local] = (module, name)


def _module_file(root: Path, current: Path, module: str) -> Path | None:
    """The repo file for an imported module, or ``None`` (stdlib, third-party)."""
    level = len(module) - len(module.lstrip("."))
    parts = [p for p in module.lstrip(".").split(".") if p]
    if level:
        base = current.parent
        for _ in range(level - 1):
            base = base.parent
        bases = [base]
    else:
        bases = [root, root / "src"]
    for base in bases:
        stem = base.joinpath(*parts) if parts else base
        for candidate in (stem.with_suffix(".py") if parts else None, stem / "__init__.py"):
            if candidate is not None and candidate.is_file():
                return candidate
    return None


class _Resolver:
    """Turns calls into repo functions, parsing each file once."""

    def __init__(
        self, root: Path, path: Path, scanned: Scan, target: FunctionInfo, node: cst.FunctionDef
    ) -> None:
        self.root, self.path, self.target = root, path, target
        self.scans: dict[Path, Scan | None] = {path: scanned}
        imports = _Imports()
        scanned.module.visit(imports)
        node.body.visit(imports)  # imports inside the function count too
        self.imports = imports.names

    def _scan(self, path: Path) -> Scan | None:
        if path not in self.scans:
            try:
                self.scans[path] = scan(read_source(path), path)
            except (cst.ParserSyntaxError, UnicodeDecodeError, OSError):
                self.scans[path] = None
        return self.scans[path]

    def _lookup(self, path: Path | None, qualname: str) -> tuple[Path, FunctionInfo] | None:
        scanned = self._scan(path) if path is not None else None
        if path is None or scanned is None:
            return None
        for q in (qualname, f"{qualname}.__init__"):  # calling a class runs its __init__
            for f in scanned.functions:
                if f.info.qualname == q:
                    return path, f.info
        return None

    def resolve(self, call: _Call) -> tuple[Path, FunctionInfo] | None:
        t = self.target
        if call.on in ("self", "cls") and t.class_qualname:
            return self._lookup(self.path, f"{t.class_qualname}.{call.name}")
        if call.on is None:
            local = self._lookup(self.path, call.name)
            if local is not None:
                return local
            if call.name in self.imports:
                module, attr = self.imports[call.name]
                if attr is not None:
                    return self._lookup(_module_file(self.root, self.path, module), attr)
            return None
        if call.on in self.imports:
            module, attr = self.imports[call.on]
            if attr is not None:  # ``from pkg import mod``: mod may be a submodule
                module = f"{module}.{attr}" if not module.endswith(".") else module + attr
            return self._lookup(_module_file(self.root, self.path, module), call.name)
        return None


def function_context(
    repo_root: str | os.PathLike[str], target: str, budget_chars: int = 6000
) -> FunctionContext:
    """The context for ``target`` (as for ``find_function``), callees added in call order
    while the total stays within ``budget_chars``; a callee that does not fit is listed in
    ``omitted`` and later, smaller ones may still be added. Calls resolved: ``name(...)`` to a
    function or class in the same file or imported from a repo module, ``self.name(...)`` /
    ``cls.name(...)`` to the enclosing class, ``mod.name(...)`` for an imported repo module.
    """
    root = Path(repo_root)
    info = find_function(root, target)
    assert info.path is not None  # find_function always sets it
    path = root / info.path
    source = read_source(path)
    lines = split_lines(source)
    scanned = scan(source, path)
    node = next(f.node for f in scanned.functions if f.info.start_line == info.start_line)
    imports = _module_imports(scanned, lines)
    header = _class_header(scanned, lines, info.class_qualname) if info.class_qualname else None
    body = _lines(lines, info.start_line, info.end_line)
    used = len(body) + len(imports) + len(header or "")
    calls = _Calls()
    node.body.visit(calls)
    resolver = _Resolver(root, path, scanned, info, node)
    callees: list[Callee] = []
    omitted: list[str] = []
    seen = {(path, info.qualname)}
    for call in calls.calls:
        found = resolver.resolve(call)
        if found is None or (found[0], found[1].qualname) in seen:
            continue
        cpath, cinfo = found
        seen.add((cpath, cinfo.qualname))
        if cinfo.qualname.startswith(info.qualname + ".<locals>."):
            continue  # nested in the target: already in its source
        cscan = resolver.scans[cpath]
        assert cscan is not None  # resolve() only finds functions in parsed files
        ctext = _lines(split_lines(cscan.source), cinfo.start_line, cinfo.end_line)
        rel = cpath.relative_to(root).as_posix()
        cost = len(ctext) + len(rel) + len(cinfo.qualname) + 30  # + the heading line
        if used + cost > budget_chars:
            omitted.append(f"{rel}::{cinfo.qualname}")
            continue
        used += cost
        callees.append(Callee(rel, cinfo.qualname, cinfo.start_line, cinfo.end_line, ctext))
    return FunctionContext(
        target=info,
        path=info.path.as_posix(),
        source=body,
        imports=imports,
        class_header=header,
        callees=tuple(callees),
        omitted=tuple(omitted),
    )
