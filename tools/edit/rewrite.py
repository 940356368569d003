"""Replacing one function or method by qualified name, with libcst.

Everything outside the target keeps its exact text. The new source is parsed on its own and
may hold, besides the function:

- import statements: merged into the module's top-level imports, skipping any already
  bound the same way (also by imports inside top-level ``try``/``if`` blocks);
- helpers (functions, classes, assignments): placed next to the target, before or after it as
  in the new source; one with the name of an existing sibling definition replaces it in place.
  For a method, a helper goes into the class if it is decorated, takes ``self``/``cls``, or is
  not used as a bare name by the method; otherwise (e.g. ``_helper(x)`` called from the
  method) it goes to module level just before the class, where a bare name can find it.
  The new source may also wrap the method in its class (``class C: def m(self): ...``).

Block indentation is re-rendered in the file's own indentation style. The target keeps its
leading comments, and its decorators when the new function has none (models often drop
``@staticmethod`` or ``@property`` when copying a method).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst

from perfagent.tools.edit.errors import BlockProblem
from perfagent.tools.edit.imports import add_imports, existing_keys, missing_imports
from perfagent.tools.edit.locate import Found, Scan, normalize_qualname, scan
from perfagent.tools.edit.text import normalize_newlines, numbered, split_lines

_Stmt = cst.BaseStatement


def _strip_fence(text: str) -> str:
    lines = split_lines(text)
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    if lines and lines[0].lstrip().startswith("```") and lines[-1].strip() == "```":
        lines = lines[1:-1]
    return "\n".join(lines) + "\n"


class _Unindent(cst.CSTTransformer):
    """Let every block use the target file's indentation unit."""

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        return updated_node.with_changes(indent=None)


def parse_new_source(new_source: str) -> list[_Stmt]:
    """The statements of ``new_source``; indented source (a method copied from its class) is
    parsed inside an ``if True:`` so multi-line strings are not touched by a dedent."""
    text = _strip_fence(normalize_newlines(new_source))
    first = next((ln for ln in split_lines(text) if ln.strip()), "")
    wrapped = first[:1].isspace()
    try:
        module = cst.parse_module("if True:\n" + text if wrapped else text)
    except cst.ParserSyntaxError as exc:
        line = exc.raw_line - (1 if wrapped else 0)
        lines = split_lines(text)
        raise BlockProblem(
            "syntax error",
            f"the new source does not parse at its line {line}: {exc.message}",
            excerpt=numbered(lines, line - 3, line + 2, marked=range(line - 1, line)),
        ) from None
    body: Sequence[_Stmt] = module.body
    if wrapped:
        block = body[0]
        assert isinstance(block, cst.If) and isinstance(block.body, cst.IndentedBlock)
        body = block.body.body
    out: list[_Stmt] = []
    for stmt in body:
        new = stmt.visit(_Unindent())
        assert isinstance(new, cst.BaseStatement)
        out.append(new)
    return out


def _is_import(stmt: _Stmt) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(
        isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body
    )


def _defined_names(stmt: _Stmt) -> set[str]:
    if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
        return {stmt.name.value}
    names: set[str] = set()
    if isinstance(stmt, cst.SimpleStatementLine):
        for small in stmt.body:
            targets: list[cst.BaseExpression] = []
            if isinstance(small, cst.Assign):
                targets = [t.target for t in small.targets]
            elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                targets = [small.target]
            names |= {t.value for t in targets if isinstance(t, cst.Name)}
    return names


class _BareNames(cst.CSTVisitor):
    """Names used on their own (``x``, ``f(x)``), not as attributes (``self.x``)."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return False


def _class_level(stmt: _Stmt, used_bare: set[str]) -> bool:
    if isinstance(stmt, cst.FunctionDef):
        params = stmt.params.params
        if stmt.decorators or (params and params[0].name.value in ("self", "cls")):
            return True
    return not (_defined_names(stmt) & used_bare)


def _spaced(stmt: _Stmt, blank: int) -> _Stmt:
    """A new statement with ``blank`` empty lines before it (keeping its own comments)."""
    if isinstance(stmt, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        comments = [ln for ln in stmt.leading_lines if ln.comment is not None]
        return stmt.with_changes(leading_lines=[cst.EmptyLine(indent=False)] * blank + comments)
    return stmt


def _with_blank(stmt: _Stmt, blank: int) -> _Stmt:
    """``stmt`` with at least ``blank`` empty lines before it (it now follows new helpers)."""
    if not isinstance(stmt, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        return stmt
    have = 0
    while have < len(stmt.leading_lines) and stmt.leading_lines[have].comment is None:
        have += 1
    extra = [cst.EmptyLine(indent=False)] * max(0, blank - have)
    return stmt.with_changes(leading_lines=[*extra, *stmt.leading_lines])


def _in_place(new: _Stmt, old: _Stmt) -> _Stmt:
    """``new`` taking ``old``'s place: its leading lines, and decorators if ``new`` has none."""
    if isinstance(new, cst.FunctionDef) and isinstance(old, cst.FunctionDef):
        if not new.decorators:
            new = new.with_changes(
                decorators=old.decorators, lines_after_decorators=old.lines_after_decorators
            )
        return new.with_changes(leading_lines=old.leading_lines)
    if isinstance(new, (cst.SimpleStatementLine, cst.BaseCompoundStatement)) and isinstance(
        old, (cst.SimpleStatementLine, cst.BaseCompoundStatement)
    ):
        return new.with_changes(leading_lines=old.leading_lines)
    return new


@dataclass
class _Level:
    """What goes into one statement list: before/after an anchor, or replacing siblings."""

    blank: int
    before: list[_Stmt]
    after: list[_Stmt]

    def place(self, body: Sequence[_Stmt], skip: object = None) -> dict[int, _Stmt]:
        """Helpers whose name an existing sibling has take its place (``id`` → new node)."""
        replaced: dict[int, _Stmt] = {}
        for group in (self.before, self.after):
            for helper in list(group):
                names = _defined_names(helper)
                old = next(
                    (
                        s
                        for s in body
                        if s is not skip
                        and type(s) is type(helper)
                        and names
                        and _defined_names(s) == names
                        and id(s) not in replaced
                    ),
                    None,
                )
                if old is not None:
                    replaced[id(old)] = _in_place(helper, old)
                    group.remove(helper)
        self.before = [_spaced(s, self.blank) for s in self.before]
        self.after = [_spaced(s, self.blank) for s in self.after]
        return replaced


class _Splicer(cst.CSTTransformer):
    def __init__(
        self,
        target: cst.FunctionDef,
        replacement: cst.FunctionDef,
        local: _Level,
        module_level: _Level,
        imports: list[cst.SimpleStatementLine],
    ) -> None:
        super().__init__()
        self.target, self.replacement = target, replacement
        self.local, self.module_level, self.imports = local, module_level, imports

    def _splice(self, original: Sequence[_Stmt], updated: Sequence[_Stmt]) -> list[_Stmt]:
        replaced = self.local.place(original, skip=self.target)
        out: list[_Stmt] = []
        for old, new in zip(original, updated, strict=True):
            if old is self.target:
                before = self.local.before
                replacement = _with_blank(self.replacement, self.local.blank) if before else None
                out += [*before, replacement or self.replacement, *self.local.after]
            else:
                out.append(replaced.get(id(old), new))
        return out

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        if any(s is self.target for s in original_node.body):
            return updated_node.with_changes(
                body=self._splice(original_node.body, updated_node.body)
            )
        return updated_node

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if any(s is self.target for s in original_node.body):
            body = self._splice(original_node.body, updated_node.body)
        else:  # a method (or nested function): module-level helpers go before its top statement
            replaced = self.module_level.place(original_node.body)
            body = []
            for old, new in zip(original_node.body, updated_node.body, strict=True):
                if self.module_level.before and _contains(old, self.target):
                    helpers = self.module_level.before
                    if not body:  # no blank lines at the top of the file
                        helpers = [_spaced(helpers[0], 0), *helpers[1:]]
                    body += [*helpers, _with_blank(new, self.module_level.blank)]
                else:
                    body.append(replaced.get(id(old), new))
        return updated_node.with_changes(body=add_imports(body, self.imports))


def _contains(stmt: _Stmt, target: cst.CSTNode) -> bool:
    finder = _Finder(target)
    stmt.visit(finder)
    return finder.found


class _Finder(cst.CSTVisitor):
    def __init__(self, target: cst.CSTNode) -> None:
        super().__init__()
        self.target, self.found = target, False

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.found = self.found or node is self.target
        return not self.found


def _decorator_codes(node: cst.FunctionDef) -> list[str]:
    return [cst.Module([]).code_for_node(d.decorator) for d in node.decorators]


def _target(scanned: Scan, qualname: str, statements: list[_Stmt]) -> Found:
    wanted = normalize_qualname(qualname.strip())
    cands = [f for f in scanned.functions if normalize_qualname(f.info.qualname) == wanted]
    if not cands:
        cands = [
            f
            for f in scanned.functions
            if normalize_qualname(f.info.qualname).endswith("." + wanted)
        ]
    if not cands:
        names = [f.info.qualname for f in scanned.functions]
        close = difflib.get_close_matches(wanted, names, n=8, cutoff=0.4) or names[:20]
        listing = "\n".join(
            f"  {f.info.qualname} (line {f.info.start_line})"
            for f in scanned.functions
            if f.info.qualname in close
        )
        raise BlockProblem(
            "not found",
            f"no function {qualname!r} in this file",
            excerpt=("Functions in this file:\n" + listing) if listing else "",
            hint="use the qualified name of an existing function, e.g. Class.method",
        )
    if len(cands) == 1:
        return cands[0]
    # Several (a property's getter and setter): the new def's decorators may pick one.
    name = cands[0].info.name
    new_defs = [s for s in statements if isinstance(s, cst.FunctionDef) and s.name.value == name]
    if len(new_defs) == 1 and new_defs[0].decorators:
        same = [f for f in cands if _decorator_codes(f.node) == _decorator_codes(new_defs[0])]
        if len(same) == 1:
            return same[0]
    lines = ", ".join(str(f.info.start_line) for f in cands)
    raise BlockProblem(
        "ambiguous",
        f"{len(cands)} functions are named {qualname!r} (lines {lines})",
        hint="include the decorator that tells them apart (e.g. @x.setter), or use SEARCH/REPLACE",
    )


def _is_filler(stmt: _Stmt) -> bool:
    """A class body's docstring or ``pass``: not a helper when unwrapping ``class C: ...``."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return False
    small = stmt.body[0]
    return isinstance(small, cst.Pass) or (
        isinstance(small, cst.Expr) and isinstance(small.value, cst.SimpleString)
    )


def rewrite_function(source: str, qualname: str, new_source: str) -> tuple[str, int]:
    """``source`` with ``qualname`` replaced by ``new_source`` (see the module docstring),
    and the line where the target started. Raises ``BlockProblem``."""
    try:
        scanned = scan(source)
    except cst.ParserSyntaxError as exc:
        raise BlockProblem(
            "syntax error",
            f"the file does not parse before this rewrite (line {exc.raw_line}: {exc.message})",
        ) from None
    statements = parse_new_source(new_source)
    found = _target(scanned, qualname, statements)
    name, info = found.info.name, found.info
    seq, module_rest = statements, []  # the statements around the new def; and any outside
    if info.is_method and not any(
        isinstance(s, cst.FunctionDef) and s.name.value == name for s in statements
    ):
        cls_name = (info.class_qualname or "").rsplit(".", 1)[-1]
        wrapper = next(
            (s for s in statements if isinstance(s, cst.ClassDef) and s.name.value == cls_name),
            None,
        )
        if wrapper is not None and isinstance(wrapper.body, cst.IndentedBlock):
            seq = [s for s in wrapper.body.body if not _is_filler(s)]
            module_rest = [s for s in statements if s is not wrapper]
    defs = [s for s in seq if isinstance(s, cst.FunctionDef) and s.name.value == name]
    if len(defs) != 1:
        defined = sorted({n for s in statements for n in _defined_names(s)})
        raise BlockProblem(
            "not found" if not defs else "ambiguous",
            f"the new source defines {name!r} {len(defs)} times; it must define it once",
            excerpt=f"It defines: {', '.join(defined) or 'nothing'}",
            hint=f"send the complete new `def {name}(...)` under the same name",
        )
    new_def = defs[0]
    at = seq.index(new_def)
    imports = [s for s in [*seq, *module_rest] if _is_import(s)]
    before = [s for s in seq[:at] if not _is_import(s)]
    after = [s for s in seq[at + 1 :] if not _is_import(s)]
    module_level = [s for s in module_rest if not _is_import(s)]
    if info.is_method and not module_rest:
        bare = _BareNames()
        new_def.visit(bare)
        module_level = [s for s in [*before, *after] if not _class_level(s, bare.names)]
        before = [s for s in before if s not in module_level]
        after = [s for s in after if s not in module_level]
    replacement = _in_place(new_def, found.node)
    assert isinstance(replacement, cst.FunctionDef)
    at_module = not info.is_method and ".<locals>." not in info.qualname
    splicer = _Splicer(
        target=found.node,
        replacement=replacement,
        local=_Level(2 if at_module else 1, before, after),
        module_level=_Level(2, module_level, []),
        imports=missing_imports(imports, existing_keys(scanned.module.body)),
    )
    return scanned.module.visit(splicer).code, info.start_line
