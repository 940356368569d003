"""``incremental-window-aggregate``: a window sum, max or min recomputed for every position of
a loop is updated as the window slides.

Matches a ``for i in range(...)`` statement or list/set/dict comprehension clause (no step,
or step ``1``) whose per-iteration code holds ``sum(xs[L:U])``, ``max(xs[L:U])`` or
``min(xs[L:U])`` (one positional argument) with ``L`` and ``U`` the loop variable plus or
minus a loop-invariant offset (``i``, ``i + k``, ``i - k + 1``, ``k + i``: names, int
literals, ``+ - * //``): a window of fixed width moving by one per iteration.

Rewrite: the header becomes ``for i, _window_sum in _perfagent_window("sum", lambda: (xs, L0,
U0), range(...))`` (``L0``/``U0`` the offsets) and each site ``(_window_sum if _window_sum is
not None else sum(xs[L:U]))``. The helper is added once at module level above the function.

The helper yields, in step with the range, the window's value or ``None``, and ``None``
makes the loop evaluate the original expression where it stood, so errors, odd types and
edge cases behave as before. The lambda is called once, at the first index (never for an
empty range), and an error there just means ``None`` throughout. Values are yielded only for
a ``list``/``tuple`` ``xs``, int offsets, width >= 2 and windows inside ``xs`` (no clipped
or negative slices), and:

* max/min: all elements read are ``int``/``float`` without NaN (checked on entry); a
  monotonic deque of positions keeps equal values, so the earliest extreme wins, as in
  ``max()``/``min()``: the very same object.
* sum of ``int`` (checked per block of ``2 * width`` windows): a running total, exact.
* sum of ``float`` (per block, no NaN or infinity): the block's first window is the original
  ``sum()`` itself, then the entering element is added and the leaving one subtracted. Not
  bit-identical: with ``A`` the sum of absolute values in the block and ``u = 2**-53``, the
  running total and a fresh ``sum()`` (sequential on 3.11, compensated on 3.12+) differ by at
  most ``(4 * width + 4) * u * A``. A running total is yielded only where that bound (taken
  twice) is below ``1e-11`` of it. perfagent's equivalence check allows ``1e-9`` relative on
  floats (``tools/equivalence/``), so a sum used as is, scaled or divided passes with 100x
  to spare; code subtracting nearly equal numbers from it could amplify the difference, and
  the lab's check is the backstop there. Cancelling sums (a small total, large ``A``) fall
  back to the original, where it matters.

Static conditions: ``xs`` is a name, either a parameter the function never rebinds or a
local whose every binding is a fresh list/tuple (display, comprehension, ``list()``/
``tuple()``/``sorted()``); the loop's code does not rebind ``i``, ``xs`` or the offsets'
names, reads ``xs`` only in windows, ``xs[...]`` and ``len(xs)``, calls only
``sum/max/min/len/abs/round/int/float/divmod/pow`` without keywords, ``math.<f>()`` and
``.append()`` of a fresh local list, stores into no subscript or attribute, and holds no
``del``, ``yield``, ``await``, ``global``/``nonlocal``, def, lambda or class. Must not fire
for: generator expressions (lazy: ``xs`` could change between items), ``async`` loops,
stepped ranges or slices, open-ended slices, ``sum(xs, start)``, ``key=``/``default=``,
shadowed builtins. Caveats: operators in the loop run user ``__dunder__`` methods on user
objects, assumed not to mutate ``xs``; offsets holding user objects run theirs once more.
Only the first distinct window of a loop is rewritten. Not covered: rolling variance (a
running sum of squares cancels badly unless shifted, would need its own bound, and the idiom
spans several statements).

The helper's source is in ``_window_helper.py``; this module finds the windows, checks the
static conditions and rewrites the loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from perfagent.tools.rules._base import (
    Occurrence,
    Rewrite,
    Target,
    all_occurrences,
    blank_lines_before,
    builtin_available,
    code,
    fresh_name,
    imports_module,
    is_binding,
    is_bound_anywhere,
    is_builtin_call,
    replace_nodes,
    walk,
)
from perfagent.tools.rules._window_helper import HELPER
from perfagent.tools.rules._window_helper import (
    HELPER_SOURCE as _HELPER_SOURCE,  # the name tests read here
)

RATIONALE = "sum/max/min over a sliding window is O(width) per step; update it as it slides"

_READ_ONLY_CALLS = ("sum", "max", "min", "len", "abs", "round", "int", "float", "divmod", "pow")
_PLUS_MINUS = cst.Add | cst.Subtract
_FORBIDDEN = cst.Del | cst.Yield | cst.Await | cst.Global | cst.Nonlocal | cst.Lambda


@dataclass(frozen=True)
class _Window:
    call: cst.Call
    kind: str  # sum, max or min
    seq: str
    lower: cst.BaseExpression  # offsets from the loop variable
    upper: cst.BaseExpression


@dataclass(frozen=True)
class _Loop:
    owner: cst.For | cst.CompFor
    var: str
    region: tuple[cst.CSTNode, ...]  # what runs once per iteration


def _mentions(node: cst.CSTNode, name: str) -> bool:
    return any(occ.node.value == name for occ in all_occurrences(node))


def _offset(expr: cst.BaseExpression, var: str) -> cst.BaseExpression | None:
    """``c`` for an expression ``var + c`` (``c`` not mentioning ``var``)."""
    if isinstance(expr, cst.Name) and expr.value == var:
        return cst.Integer("0")
    if not (isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, _PLUS_MINUS)):
        return None
    add = isinstance(expr.operator, cst.Add)
    in_left, in_right = _mentions(expr.left, var), _mentions(expr.right, var)
    if in_left == in_right or (in_right and not add):
        return None
    inner = _offset(expr.left if in_left else expr.right, var)
    if inner is None:
        return None
    if not (isinstance(inner, cst.Integer) and inner.value == "0"):
        return expr.with_changes(**{"left" if in_left else "right": inner})
    other = expr.right if in_left else expr.left
    if add:
        return other
    if isinstance(other, cst.BinaryOperation) and not other.lpar:
        other = other.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return cst.UnaryOperation(cst.Minus(), other)


def _plain(node: cst.BaseExpression) -> bool:
    """Names and int literals under ``+ - * //`` (no calls, attributes or subscripts)."""
    if isinstance(node, cst.Name | cst.Integer):
        return True
    if isinstance(node, cst.UnaryOperation):
        return isinstance(node.operator, cst.Minus | cst.Plus) and _plain(node.expression)
    return (
        isinstance(node, cst.BinaryOperation)
        and isinstance(node.operator, cst.Add | cst.Subtract | cst.Multiply | cst.FloorDivide)
        and _plain(node.left)
        and _plain(node.right)
    )


def _window(node: cst.CSTNode, var: str) -> _Window | None:
    if not (isinstance(node, cst.Call) and len(node.args) == 1):
        return None
    if not is_builtin_call(node, "sum", "max", "min"):
        return None
    assert isinstance(node.func, cst.Name)
    arg = node.args[0].value
    if not (isinstance(arg, cst.Subscript) and isinstance(arg.value, cst.Name)):
        return None
    if len(arg.slice) != 1 or not isinstance(arg.slice[0].slice, cst.Slice):
        return None
    part = arg.slice[0].slice
    if part.lower is None or part.upper is None or part.step is not None:
        return None
    lower, upper = _offset(part.lower, var), _offset(part.upper, var)
    if lower is None or upper is None:
        return None
    return _Window(node, node.func.value, arg.value.value, lower, upper)


def _loops(function: cst.FunctionDef) -> list[_Loop]:
    """``for NAME in range(...)`` loops and comprehension clauses (not generators)."""
    found: list[_Loop] = []
    for node, _ in walk(function):
        if isinstance(node, cst.For) and node.asynchronous is None:
            found.append(_Loop(node, "", (node.body,)))
        elif isinstance(node, cst.ListComp | cst.SetComp | cst.DictComp):
            elements = (node.key, node.value) if isinstance(node, cst.DictComp) else (node.elt,)
            clause: cst.CompFor | None = node.for_in
            while clause is not None:
                inner = (clause.inner_for_in,) if clause.inner_for_in else ()
                if clause.asynchronous is None:
                    found.append(_Loop(clause, "", (*clause.ifs, *inner, *elements)))
                clause = clause.inner_for_in
    return [
        _Loop(loop.owner, loop.owner.target.value, loop.region)
        for loop in found
        if isinstance(loop.owner.target, cst.Name) and _unit_range(loop.owner.iter)
    ]


def _unit_range(node: cst.BaseExpression) -> bool:
    """``range(a)``, ``range(a, b)`` or ``range(a, b, 1)``."""
    args = node.args if isinstance(node, cst.Call) else ()
    return is_builtin_call(node, "range") and (
        1 <= len(args) <= 2 or (len(args) == 3 and code(args[2].value) == "1")
    )


class _Checker:
    """The static conditions of the module docstring."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.occurrences = all_occurrences(target.node.body)
        params = target.node.params
        self.params = {
            p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)
        }

    def fresh(self, name: str, calls: tuple[str, ...]) -> bool:
        """``name`` is a local whose every binding is a plain assignment of a new list
        (display, comprehension or a call of one of the builtins ``calls``) or tuple display,
        and which no nested scope uses."""
        values: list[cst.BaseExpression] = []
        for occ in self.occurrences:
            if occ.node.value != name:
                continue
            if occ.in_nested_scope or isinstance(occ.parent, cst.NameItem):
                return False
            if is_binding(occ):
                grand = occ.ancestors[-2] if len(occ.ancestors) > 1 else None
                if not (isinstance(grand, cst.Assign) and len(grand.targets) == 1):
                    return False  # also ``x: T = ...``, ``x += ...``, ``for x in ...``, ...
                values.append(grand.value)
        fresh = cst.List | cst.ListComp | cst.Tuple if "tuple" in calls else cst.List | cst.ListComp
        return (
            bool(values)
            and name not in self.params
            and all(
                isinstance(v, fresh)
                or (is_builtin_call(v, *calls) and builtin_available(self.target, *calls))
                for v in values
            )
        )

    def sequence_ok(self, name: str) -> bool:
        """A parameter that the function never rebinds nor uses in a nested scope, or a
        fresh local list/tuple."""
        if name in self.params:  # (``del`` counts as a binding)
            mine = [o for o in self.occurrences if o.node.value == name]
            return not any(o.in_nested_scope or is_binding(o) for o in mine)
        return self.fresh(name, ("list", "tuple", "sorted"))

    def call_ok(self, call: cst.Call, seq: str) -> bool:
        func = call.func
        if isinstance(func, cst.Name):
            return (
                func.value in _READ_ONLY_CALLS
                and builtin_available(self.target, func.value)
                and is_builtin_call(call, func.value)
            )
        if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)):
            return False
        owner = func.value.value
        if owner == "math":
            return imports_module(self.target, "math")
        return func.attr.value == "append" and owner != seq and self.fresh(owner, ("list",))

    def loop_ok(self, loop: _Loop, window: _Window, sites: list[cst.Call]) -> bool:
        invariant = {loop.var, window.seq}
        invariant |= {o.node.value for o in all_occurrences(window.lower)}
        invariant |= {o.node.value for o in all_occurrences(window.upper)}
        if not (_plain(window.lower) and _plain(window.upper) and self.sequence_ok(window.seq)):
            return False
        for part in loop.region:
            for node, _ in walk(part):
                if isinstance(node, _FORBIDDEN | cst.FunctionDef | cst.ClassDef):
                    return False
                if isinstance(node, cst.Call) and not self.call_ok(node, window.seq):
                    return False
                if isinstance(node, cst.AssignTarget | cst.AugAssign | cst.AnnAssign):
                    stores = walk(node.target)
                    if any(isinstance(n, cst.Subscript | cst.Attribute) for n, _ in stores):
                        return False
            for occ in all_occurrences(part):
                name = occ.node.value
                if name in invariant and occ.ancestors and is_binding(occ):
                    return False
                if name == window.seq and not _read(occ, sites):
                    return False
        return True


def _read(occ: Occurrence, sites: list[cst.Call]) -> bool:
    """``xs`` occurs inside a rewritten window, as ``xs[...]`` or in ``len(xs)``."""
    if any(a is s for s in sites for a in occ.ancestors):
        return True
    if not occ.ancestors:
        return False
    parent, grand = occ.parent, occ.ancestors[-2] if len(occ.ancestors) > 1 else None
    if isinstance(parent, cst.Subscript) and parent.value is occ.node:
        return True
    return isinstance(grand, cst.Call) and is_builtin_call(grand, "len")


def _prelude(target: Target) -> list[cst.BaseStatement] | None:
    """The helper's definition if it is still to add above the function ([] if the module
    has it already), or None if its name is taken by something else."""
    module = target.module
    statement = cst.parse_statement(_HELPER_SOURCE)
    for existing in module.body:
        if isinstance(existing, cst.FunctionDef) and existing.name.value == HELPER:
            return [] if code(existing).strip() == code(statement).strip() else None
    if is_bound_anywhere(module, HELPER):
        return None
    top = module.body[target.top_index]
    return [statement.with_changes(leading_lines=blank_lines_before(top))]


# Builtins the helper and the rewritten loop rely on.
_NEEDED = ["range", "sum", "max", "min", "len", "zip", "type", "list", "tuple", "set", "map"]
_NEEDED += ["abs", "int", "float", "enumerate", "OverflowError"]


def transform(target: Target) -> Rewrite | None:
    if not builtin_available(target, *_NEEDED):
        return None
    checker = _Checker(target)
    taken = {occ.node.value for occ in all_occurrences(target.module)}
    replacements: dict[int, cst.CSTNode] = {}
    count = 0
    for loop in _loops(target.node):
        windows = [w for part in loop.region for n, _ in walk(part) if (w := _window(n, loop.var))]
        if not windows:
            continue
        window = windows[0]
        key = (window.kind, window.seq, code(window.lower), code(window.upper))
        sites = [w.call for w in windows if (w.kind, w.seq, code(w.lower), code(w.upper)) == key]
        if any(id(s) in replacements for s in sites) or not checker.loop_ok(loop, window, sites):
            continue
        alias = fresh_name(f"_window_{window.kind}", taken)
        seq = cst.Name(window.seq)
        bounds = cst.Tuple([cst.Element(e) for e in (seq, window.lower, window.upper)])
        thunk = cst.Lambda(cst.Parameters(), bounds)
        args = [cst.SimpleString(f'"{window.kind}"'), thunk, loop.owner.iter]
        replacements[id(loop.owner.iter)] = cst.Call(cst.Name(HELPER), [cst.Arg(a) for a in args])
        names = [cst.Element(cst.Name(loop.var)), cst.Element(cst.Name(alias))]
        replacements[id(loop.owner.target)] = cst.Tuple(names, lpar=[], rpar=[])
        fallback = cst.parse_expression(f"({alias} if {alias} is not None else None)")
        for site in sites:
            replacements[id(site)] = fallback.with_changes(orelse=site)
        count += 1
    if not count:
        return None
    prelude = _prelude(target)
    if prelude is None:
        return None
    function = replace_nodes(target.node, replacements)
    top_level = target.module.body[target.top_index] is target.node
    if prelude and top_level and len(blank_lines_before(function)) < 2:
        function = function.with_changes(leading_lines=[cst.EmptyLine()] * 2)  # after the helper
    return Rewrite(function, count, prelude)
