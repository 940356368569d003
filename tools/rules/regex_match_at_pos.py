"""``regex-slice-to-pos``: match at a position instead of slicing off the rest of the string.

Matches, inside a ``for``/``while`` loop of the target function, the statement
``M = re.match(P, S[I:])`` (also ``re.search``, ``re.fullmatch``) where the slice has only a
lower bound, ``S`` is a simple name, ``I`` a simple name or an integer literal, and the only
other argument is an optional constant ``flags`` (third positional or ``flags=``); ``re`` is
the module of a top-level ``import re`` above the function and is not rebound in it.

Rewrite: the call becomes ``_perfagent_re_at("match", P, S, I[, flags])``; the helper (with
``_PERFAGENT_RE_ANCHORS`` and its cache ``_PERFAGENT_RE_AT_CACHE``) is added once at module
level above the function. At run time it calls ``re.compile(P, flags).match(S, I)``, so the
tail of ``S`` is no longer copied on every iteration; when that could differ it falls back to
the original ``re.match(P, S[I:], flags)``. The bound method (or the "unsafe" verdict) is
cached per ``(method, P, flags)`` (cleared at 512 entries, like re's own cache), so the
anchor scan and re's cache lookup are not paid per call: measured faster than the original
even on short strings. ``re.DEBUG`` patterns take the slicing path (re does not cache them
and prints on every compile).

Why the fast path is equivalent (each claim checked by experiment, see the tests):
``compiled.match(s, pos)`` scans the same characters as ``re.match(p, s[pos:])`` except that
the characters before ``pos`` are still visible. Constructs that look at them differ:
``^`` and ``\\A`` do not match at ``pos > 0`` (``^`` with MULTILINE does after a newline),
``\\b``/``\\B`` see ``s[pos - 1]``, lookbehind ``(?<=``/``(?<!`` sees the text before. A
pattern containing ``^``, ``\\A``, ``\\b``, ``\\B`` or ``(?<`` anywhere (also inside classes
or after an escaped backslash: false positives only cost speed) takes the slicing path.
These are complete: ``(?<`` cannot be spelled with inner spaces even under VERBOSE (that is
a syntax error), and ``\\ b`` under VERBOSE is an escaped space followed by ``b``.
``$`` and ``\\Z`` are fine: without ``endpos`` the end of the string is the same in both.
A negative ``pos`` is clamped to 0 by ``match(s, pos)`` but counts from the end in a slice,
so only ``type(pos) is int and pos >= 0`` takes the fast path; a ``pos`` past the end
behaves like matching the empty string in both. Compiled or bytes patterns, non-``str``
strings and anything else also take the slicing path.

The match object is not the same: ``start/end/span/pos/endpos/string/regs`` are offset by
``pos``. So the rule fires only when every occurrence of ``M`` in the function is one of:
an assignment ``M = <a call this rule rewrites>`` or ``M = None``, a truth test (``if M``,
``while M``, ``not M``, ``M and ...``, ``M is None``, ``M is not None``),
``M.group(...)``, ``M.groups(...)``, ``M.groupdict(...)``, ``M.lastgroup`` or
``M.lastindex``. It must not fire when ``M`` is returned, passed, stored, compared otherwise,
used for offsets, used in a nested function/lambda/class, declared global/nonlocal; nor for
slices with an upper bound or step, ``S`` not a simple name, keyword or starred arguments,
non-constant flags, another module than ``re``, or calls outside loops.
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from perfagent.tools.rules._base import (
    Occurrence,
    Rewrite,
    Target,
    blank_lines_before,
    code,
    in_loop,
    is_binding,
    is_bound_anywhere,
    occurrences,
    replace_nodes,
    walk,
)
from perfagent.tools.rules.regex_once import _constant_flags, _has_top_level_import_re, _is_re_attr

RATIONALE = "re.match(p, s[pos:]) in a loop copies the rest of s every time; match at pos instead"

HELPER_NAME = "_perfagent_re_at"
ANCHORS_NAME = "_PERFAGENT_RE_ANCHORS"

CACHE_NAME = "_PERFAGENT_RE_AT_CACHE"

_ANCHORS_SOURCE = f'{ANCHORS_NAME} = re.compile(r"\\^|\\\\[AbB]|\\(\\?<")\n'
_CACHE_SOURCE = f"{CACHE_NAME} = {{}}\n"
HELPER_SOURCE = f'''def {HELPER_NAME}(method, pattern, string, pos, flags=0):
    """re.<method>(pattern, string[pos:], flags) without copying the tail, when equivalent."""
    if type(pattern) is str and type(string) is str and type(pos) is int and pos >= 0:
        key = (method, pattern, flags)
        bound = {CACHE_NAME}.get(key)
        if bound is None:
            if len({CACHE_NAME}) >= 512:
                {CACHE_NAME}.clear()
            safe = not flags & re.DEBUG and not {ANCHORS_NAME}.search(pattern)
            bound = getattr(re.compile(pattern, flags), method) if safe else False
            {CACHE_NAME}[key] = bound
        if bound:
            return bound(string, pos)
    return getattr(re, method)(pattern, string[pos:], flags)
'''

_METHODS = ("match", "search", "fullmatch")
_CALLED_ATTRS = {"group", "groups", "groupdict"}
_PLAIN_ATTRS = {"lastgroup", "lastindex"}


def _slice_parts(node: cst.BaseExpression) -> tuple[cst.Name, cst.BaseExpression] | None:
    """``(S, I)`` of ``S[I:]`` with ``S`` a name and ``I`` a name or integer literal."""
    if not isinstance(node, cst.Subscript) or not isinstance(node.value, cst.Name):
        return None
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Slice):
        return None
    part = node.slice[0].slice
    if part.upper is not None or part.step is not None or part.lower is None:
        return None
    if not isinstance(part.lower, cst.Name | cst.Integer):
        return None
    return node.value, part.lower


def _site(call: cst.BaseExpression) -> list[cst.Arg] | None:
    """Arguments of the helper call replacing ``call``, or None if ``call`` does not qualify."""
    if not (isinstance(call, cst.Call) and _is_re_attr(call.func)):
        return None
    assert isinstance(call.func, cst.Attribute)
    method = call.func.attr.value
    if method not in _METHODS or not 2 <= len(call.args) <= 3:
        return None
    pattern, string, *rest = call.args
    if any(arg.star for arg in call.args) or pattern.keyword or string.keyword:
        return None
    if rest and rest[0].keyword is not None and rest[0].keyword.value != "flags":
        return None
    if rest and not _constant_flags(rest[0].value):
        return None
    parts = _slice_parts(string.value)
    if parts is None:
        return None
    values = [cst.SimpleString(f'"{method}"'), pattern.value, parts[0], parts[1]]
    values += [arg.value for arg in rest]
    comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    return [
        cst.Arg(value, comma=comma if i < len(values) - 1 else cst.MaybeSentinel.DEFAULT)
        for i, value in enumerate(values)
    ]


def _is_none(node: cst.CSTNode) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def _truth_only(node: cst.CSTNode, ancestors: Sequence[cst.CSTNode]) -> bool:
    """Whether the value of ``node`` is only tested for truth (or escapes only when falsy)."""
    if not ancestors:
        return False
    parent = ancestors[-1]
    if isinstance(parent, cst.If | cst.While | cst.IfExp | cst.Assert | cst.CompIf):
        return parent.test is node
    if isinstance(parent, cst.UnaryOperation) and isinstance(parent.operator, cst.Not):
        return True
    if isinstance(parent, cst.BooleanOperation):
        # ``M and X`` yields M only when M is falsy (None: a match is always truthy).
        if parent.left is node and isinstance(parent.operator, cst.And):
            return True
        return _truth_only(parent, ancestors[:-1])
    return False


def _allowed_use(occ: Occurrence) -> bool:
    node, chain = occ.node, occ.ancestors
    parent = occ.parent
    if isinstance(parent, cst.Attribute) and parent.value is node:
        attr = parent.attr.value
        if attr in _PLAIN_ATTRS:
            return True
        grand = chain[-2] if len(chain) > 1 else None
        return attr in _CALLED_ATTRS and isinstance(grand, cst.Call) and grand.func is parent
    if isinstance(parent, cst.Comparison) and len(parent.comparisons) == 1:
        target = parent.comparisons[0]
        if not isinstance(target.operator, cst.Is | cst.IsNot):
            return False
        other = target.comparator if parent.left is node else parent.left
        return (parent.left is node or target.comparator is node) and _is_none(other)
    return _truth_only(node, chain)


def _name_ok(function: cst.FunctionDef, name: str, sites: set[int]) -> bool:
    """Every occurrence of ``name`` in ``function`` is a rewritten assignment, ``= None`` or
    an allowed use (see the module docstring)."""
    for occ in occurrences(function, name):
        if occ.in_nested_scope:
            return False
        if is_binding(occ):
            if not (isinstance(occ.parent, cst.AssignTarget) and len(occ.ancestors) > 1):
                return False
            assign = occ.ancestors[-2]
            if not (isinstance(assign, cst.Assign) and len(assign.targets) == 1):
                return False
            if id(assign) not in sites and not _is_none(assign.value):
                return False
        elif not _allowed_use(occ):
            return False
    return True


def _top_level_statement(module: cst.Module, name: str) -> cst.BaseStatement | None:
    for statement in module.body:
        if any(is_binding(occ) for occ in occurrences(statement, name)):
            return statement
    return None


def _prelude(target: Target) -> list[cst.BaseStatement] | None:
    """The helper statements still to add, or None if the names are taken by something else."""
    module = target.module
    wanted = [
        (ANCHORS_NAME, cst.parse_statement(_ANCHORS_SOURCE)),
        (CACHE_NAME, cst.parse_statement(_CACHE_SOURCE)),
        (HELPER_NAME, cst.parse_statement(HELPER_SOURCE)),
    ]
    found = [_top_level_statement(module, name) for name, _ in wanted]
    if all(statement is None for statement in found):
        if any(is_bound_anywhere(module, name) for name, _ in wanted):
            return None
        top = module.body[target.top_index]
        anchors, cache, helper = (statement for _, statement in wanted)
        return [
            anchors.with_changes(leading_lines=blank_lines_before(top)),
            cache,
            helper.with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()]),
        ]
    ours = all(
        statement is not None and code(statement).strip() == code(new).strip()
        for statement, (_, new) in zip(found, wanted, strict=True)
    )
    return [] if ours else None


def transform(target: Target) -> Rewrite | None:
    function = target.node
    if is_bound_anywhere(function, "re") or not _has_top_level_import_re(
        target.module, target.top_index
    ):
        return None
    # Candidate sites: ``M = re.<method>(P, S[I:])`` statements inside a loop.
    candidates: dict[str, list[tuple[cst.Assign, list[cst.Arg]]]] = {}
    for node, ancestors in walk(function):
        if not isinstance(node, cst.Assign) or len(node.targets) != 1:
            continue
        assigned = node.targets[0].target
        args = _site(node.value)
        if not isinstance(assigned, cst.Name) or args is None or not in_loop(ancestors, node):
            continue
        candidates.setdefault(assigned.value, []).append((node, args))
    replacements: dict[int, cst.CSTNode] = {}
    for name, sites in candidates.items():
        if not _name_ok(function, name, {id(assign) for assign, _ in sites}):
            continue
        for assign, args in sites:
            call = assign.value
            assert isinstance(call, cst.Call)
            replacements[id(call)] = call.with_changes(func=cst.Name(HELPER_NAME), args=args)
    if not replacements:
        return None
    prelude = _prelude(target)
    if prelude is None:
        return None
    return Rewrite(replace_nodes(function, replacements), len(replacements), prelude)
