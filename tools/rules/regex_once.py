"""``compile-regex-once``: module-level compiled patterns instead of ``re.<fn>(literal, ...)``.

Matches, in the target function, calls ``re.match/search/fullmatch/sub/subn/findall/
finditer/split(P, ...)`` and ``re.compile(P[, flags])`` where ``P`` is a string literal or a
module-level name bound exactly once, to a string literal, above the function; and flags, if
any, are constant (integers, ``re.X`` attributes and ``|`` of those).

Rewrite: ``_PERFAGENT_RE_<n> = re.compile(P[, flags])`` is added at module level just above
the function (one per distinct pattern and flags; a ``_PERFAGENT_RE_<n>`` that an earlier
rewrite of a function above added for the same pattern and flags is reused), the call becomes
``_PERFAGENT_RE_<n>.match(...)`` with the same remaining arguments minus the flags, and
``re.compile(P)`` becomes ``_PERFAGENT_RE_<n>``.

Safe when ``re`` is the module imported by a top-level ``import re`` above the function and
not rebound inside it: the compiled object behaves exactly like the ``re`` function with the
same pattern and flags. Must not fire for patterns built at run time (f-strings, variables,
parameters), non-constant flags, ``*args``/``**kwargs`` or a ``pattern=`` keyword.
Caveat: an invalid pattern now fails at import instead of at the first call.
"""

from __future__ import annotations

import libcst as cst

from perfagent.tools.rules._base import (
    Rewrite,
    Target,
    all_names,
    blank_lines_before,
    code,
    is_bound_anywhere,
    is_constant_string,
    module_binding,
    rewrite_locally,
)
from perfagent.tools.rules._syntax import named_assignment

PREFIX = "_PERFAGENT_RE_"

RATIONALE = "re.match(pattern, s) looks the pattern up in re's cache on every call; compile once"

# Position of the ``flags`` argument in each ``re`` function (counting the pattern as 0).
_FLAGS_POSITION = {
    "match": 2,
    "search": 2,
    "fullmatch": 2,
    "findall": 2,
    "finditer": 2,
    "split": 3,
    "sub": 4,
    "subn": 4,
    "compile": 1,
}


def _is_re_attr(node: cst.BaseExpression) -> bool:
    return (
        isinstance(node, cst.Attribute)
        and isinstance(node.value, cst.Name)
        and node.value.value == "re"
    )


def _constant_flags(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Integer):
        return True
    if _is_re_attr(node):
        assert isinstance(node, cst.Attribute)
        return node.attr.value.isupper()
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
        return _constant_flags(node.left) and _constant_flags(node.right)
    return False


def _has_top_level_import_re(module: cst.Module, before: int) -> bool:
    for statement in module.body[:before]:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Import):
                for alias in small.names:
                    if alias.asname is None and code(alias.name) == "re":
                        return True
    return False


class _Patterns:
    """The module-level compiled patterns this rewrite adds, deduplicated."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.taken = all_names(target.module)
        self.names: dict[tuple[str, str], str] = _earlier_patterns(target)
        self.added = 0
        self.prelude: list[cst.BaseStatement] = []

    def constant_pattern(self, node: cst.BaseExpression) -> bool:
        if is_constant_string(node):
            return True
        if not isinstance(node, cst.Name) or is_bound_anywhere(self.target.node, node.value):
            return False
        statement = module_binding(self.target.module, node.value, self.target.top_index)
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            return False
        assignment = named_assignment(statement.body[0])
        return assignment is not None and is_constant_string(assignment[1])

    def name_for(self, pattern: cst.BaseExpression, flags: cst.BaseExpression | None) -> str:
        key = (code(pattern), code(flags) if flags is not None else "")
        if key not in self.names:
            # The next free number: a module already holding _PERFAGENT_RE_1 gets _2.
            self.added += 1
            while f"{PREFIX}{self.added}" in self.taken:
                self.added += 1
            name = f"{PREFIX}{self.added}"
            self.taken.add(name)
            self.names[key] = name
            args = key[0] + (f", {key[1]}" if flags is not None else "")
            statement = cst.parse_statement(f"{name} = re.compile({args})\n")
            if not self.prelude:
                top = self.target.module.body[self.target.top_index]
                statement = statement.with_changes(leading_lines=blank_lines_before(top))
            self.prelude.append(statement)
        return self.names[key]

    def rewrite(self, node: cst.CSTNode) -> cst.CSTNode | None:
        if not (isinstance(node, cst.Call) and _is_re_attr(node.func)):
            return None
        assert isinstance(node.func, cst.Attribute)
        method = node.func.attr.value
        if method not in _FLAGS_POSITION or not node.args:
            return None
        if any(arg.star or (arg.keyword and arg.keyword.value == "pattern") for arg in node.args):
            return None
        pattern = node.args[0]
        if pattern.keyword is not None or not self.constant_pattern(pattern.value):
            return None
        flags: cst.BaseExpression | None = None
        rest: list[cst.Arg] = []
        for position, arg in enumerate(node.args[1:], start=1):
            is_flags = (arg.keyword is None and position == _FLAGS_POSITION[method]) or (
                arg.keyword is not None and arg.keyword.value == "flags"
            )
            if is_flags:
                if not _constant_flags(arg.value):
                    return None
                flags = arg.value
            else:
                rest.append(arg)
        name = self.name_for(pattern.value, flags)
        if method == "compile":
            return cst.Name(name, lpar=node.lpar, rpar=node.rpar)
        if rest:
            rest[-1] = rest[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return node.with_changes(func=cst.Attribute(cst.Name(name), cst.Name(method)), args=rest)


def _earlier_patterns(target: Target) -> dict[tuple[str, str], str]:
    """The patterns this rule compiled at module level above the function before (when
    stacked rewrites reach several functions of one module), by (pattern, flags) source."""
    found: dict[tuple[str, str], str] = {}
    for statement in target.module.body[: target.top_index]:
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            continue
        assignment = named_assignment(statement.body[0])
        if assignment is None:
            continue
        name, value = assignment[0].value, assignment[1]
        if not (
            name.startswith(PREFIX)
            and isinstance(value, cst.Call)
            and code(value.func) == "re.compile"
            and len(value.args) in (1, 2)
            and all(arg.keyword is None and not arg.star for arg in value.args)
        ):
            continue
        if module_binding(target.module, name, target.top_index) is not statement:
            continue
        if is_bound_anywhere(target.node, name):
            continue
        args = [code(arg.value) for arg in value.args]
        found.setdefault((args[0], args[1] if len(args) == 2 else ""), name)
    return found


def transform(target: Target) -> Rewrite | None:
    if is_bound_anywhere(target.node, "re") or not _has_top_level_import_re(
        target.module, target.top_index
    ):
        return None
    patterns = _Patterns(target)
    result = rewrite_locally(target, patterns.rewrite)
    if result is None:
        return None
    result.prelude = patterns.prelude
    return result
