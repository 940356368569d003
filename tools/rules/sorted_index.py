"""``sorted-index-to-min-max``: ``sorted(x)[0]`` → ``min(x)``, ``sorted(x)[-1]`` → ``max(x)``.

Matches a subscript ``[0]`` or ``[-1]`` applied directly to a call of the builtin ``sorted``
with exactly one positional argument and optionally ``key=`` and a literal ``reverse=``.

Rewrite (``sorted`` is stable, ``min``/``max`` return the first of equal extremes):

* ``sorted(x, key=k)[0]`` → ``min(x, key=k)``; with ``reverse=True`` → ``max(x, key=k)``
  (both pick the first extreme in input order, exactly like the stable sort).
* ``sorted(x)[-1]`` → ``max(x)``; with ``reverse=True`` → ``min(x)`` — only without ``key=``:
  the sort returns the *last* of equal extremes and ``min``/``max`` the first, which for plain
  values without a key only differs for values that compare equal but are distinguishable
  (``1`` vs ``1.0``, objects with a custom ``__eq__``). That caveat is accepted; the lab's
  equivalence check is the backstop.

Safe when ``sorted``, ``min`` and ``max`` are the builtins (not rebound in the module) and the
order is total. Must not fire with a non-literal ``reverse=``, ``*args``/``**kwargs``, other
indices, or ``key=`` with ``[-1]``. Remaining caveats: an empty input raises ``ValueError``
instead of ``IndexError``; with NaNs (a partial order) the two may pick different elements.
"""

from __future__ import annotations

import libcst as cst

from perfagent.tools.rules._base import Rewrite, Target, builtin_available, rewrite_locally

RATIONALE = "sorted(x)[0] sorts all of x, O(n log n); min(x)/max(x) is one O(n) pass"


def _index(node: cst.Subscript) -> int | None:
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
        return None
    value = node.slice[0].slice.value
    if isinstance(value, cst.Integer) and value.value == "0":
        return 0
    if (
        isinstance(value, cst.UnaryOperation)
        and isinstance(value.operator, cst.Minus)
        and isinstance(value.expression, cst.Integer)
        and value.expression.value == "1"
    ):
        return -1
    return None


def _rewrite(node: cst.CSTNode) -> cst.CSTNode | None:
    if not isinstance(node, cst.Subscript) or not isinstance(node.value, cst.Call):
        return None
    call = node.value
    if not (isinstance(call.func, cst.Name) and call.func.value == "sorted"):
        return None
    index = _index(node)
    if index is None:
        return None
    positional = [a for a in call.args if a.keyword is None]
    if len(positional) != 1 or positional[0].star:
        return None
    reverse = False
    kept: list[cst.Arg] = []
    for arg in call.args:
        if arg.keyword is None:
            kept.append(arg)
        elif arg.keyword.value == "key":
            if index == -1:
                return None  # max/min and the stable sort pick different equal-key elements
            kept.append(arg)
        elif arg.keyword.value == "reverse":
            if not isinstance(arg.value, cst.Name) or arg.value.value not in ("True", "False"):
                return None
            reverse = arg.value.value == "True"
        else:
            return None
    use_max = (index == 0) == reverse
    kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return cst.Call(func=cst.Name("max" if use_max else "min"), args=kept)


def transform(target: Target) -> Rewrite | None:
    if not builtin_available(target, "sorted", "min", "max"):
        return None
    return rewrite_locally(target, _rewrite)
