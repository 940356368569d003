"""Merging the imports of a function rewrite into the module's own, without duplicates."""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

_EMPTY = cst.Module([])
ImportKey = tuple[str, ...]


def _code(node: cst.CSTNode) -> str:
    return _EMPTY.code_for_node(node)


def _asname(alias: cst.ImportAlias) -> str:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return ""


def _from_module(node: cst.ImportFrom) -> str:
    return "." * len(node.relative) + (_code(node.module) if node.module is not None else "")


def _import_key(alias: cst.ImportAlias) -> ImportKey:
    return ("import", _code(alias.name), _asname(alias))


def _keys(node: cst.Import | cst.ImportFrom) -> list[ImportKey]:
    if isinstance(node, cst.Import):
        return [_import_key(a) for a in node.names]
    module = _from_module(node)
    if isinstance(node.names, cst.ImportStar):
        return [("from", module, "*", "")]
    return [("from", module, _code(a.name), _asname(a)) for a in node.names]


def existing_keys(body: Sequence[cst.BaseStatement]) -> set[ImportKey]:
    """Imports bound at module level, also inside top-level ``try``/``if`` blocks (the
    ``try: import ujson as json / except ImportError: import json`` pattern)."""
    keys: set[ImportKey] = set()
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, (cst.Import, cst.ImportFrom)):
                    keys.update(_keys(small))
        elif isinstance(stmt, (cst.Try, cst.If)):
            suites: list[cst.BaseSuite] = [stmt.body]
            if isinstance(stmt, cst.Try):
                suites += [h.body for h in stmt.handlers]
                if stmt.orelse is not None:
                    suites.append(stmt.orelse.body)
            elif isinstance(stmt.orelse, cst.Else):
                suites.append(stmt.orelse.body)
            for suite in suites:
                if isinstance(suite, cst.IndentedBlock):
                    keys |= existing_keys(suite.body)
    return keys


def missing_imports(
    statements: Sequence[cst.BaseStatement], have: set[ImportKey]
) -> list[cst.SimpleStatementLine]:
    """One fresh line per import statement in ``statements``, holding only the names not in
    ``have`` (which is updated, so the new source's own repeats are dropped too)."""
    out = []
    for stmt in statements:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.Import):
                aliases = [a for a in small.names if _import_key(a) not in have]
                if aliases:
                    have.update(_import_key(a) for a in aliases)
                    new: cst.BaseSmallStatement = cst.Import(
                        [cst.ImportAlias(a.name, a.asname) for a in aliases]
                    )
                    out.append(cst.SimpleStatementLine([new]))
            elif isinstance(small, cst.ImportFrom):
                keys = [k for k in _keys(small) if k not in have]
                if not keys:
                    continue
                have.update(keys)
                if isinstance(small.names, cst.ImportStar):
                    new = small
                else:
                    wanted = {k[2:] for k in keys}
                    names = [
                        cst.ImportAlias(a.name, a.asname)
                        for a in small.names
                        if (_code(a.name), _asname(a)) in wanted
                    ]
                    new = cst.ImportFrom(module=small.module, names=names, relative=small.relative)
                out.append(cst.SimpleStatementLine([new]))
    return out


def _is_import_line(stmt: cst.BaseStatement, future: bool | None = None) -> bool:
    if not isinstance(stmt, cst.SimpleStatementLine) or not stmt.body:
        return False
    for small in stmt.body:
        if not isinstance(small, (cst.Import, cst.ImportFrom)):
            return False
        is_future = isinstance(small, cst.ImportFrom) and _from_module(small) == "__future__"
        if future is not None and is_future != future:
            return False
    return True


def _is_docstring(stmt: cst.BaseStatement) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def add_imports(
    body: list[cst.BaseStatement], lines: list[cst.SimpleStatementLine]
) -> list[cst.BaseStatement]:
    """``body`` with ``lines`` inserted: ``__future__`` imports after the docstring and any
    existing ones, the rest after the last top-level import line."""
    if not lines:
        return body
    body = list(body)
    futures = [ln for ln in lines if _is_import_line(ln, future=True)]
    others = [ln for ln in lines if not _is_import_line(ln, future=True)]
    top = 1 if body and _is_docstring(body[0]) else 0
    while top < len(body) and _is_import_line(body[top], future=True):
        top += 1
    for group, at in ((futures, top), (others, None)):
        if not group:
            continue
        if at is None:
            last = max((i for i, s in enumerate(body) if _is_import_line(s)), default=-1)
            at = last + 1 if last >= 0 else top + len(futures)
        if at == 1 and _is_docstring(body[0]):  # a blank line between docstring and imports
            group = [group[0].with_changes(leading_lines=[cst.EmptyLine(indent=False)]), *group[1:]]
        body[at:at] = group
    return body
