"""``dict-keys-membership``: ``k in d.keys()`` → ``k in d``; ``for k in d.keys()`` → ``for k in d``.

Matches a comparison ``in``/``not in`` whose right operand is ``d.keys()`` with no arguments,
and ``for`` loops or comprehensions iterating over ``d.keys()``, where ``d`` is a plain name
or attribute chain (``self.cache``).

Rewrite: the ``.keys()`` call is dropped, saving a method lookup, a call and a view object.

Safe for dicts and anything following the ``Mapping`` protocol (``__contains__`` and
``__iter__`` agree with ``keys()``). Must not fire for calls with arguments or receivers
that are arbitrary expressions. Caveat: ``d`` could be a non-mapping object whose ``keys()``
disagrees with its ``__iter__``/``__contains__``; the lab's equivalence check catches that.
"""

from __future__ import annotations

import libcst as cst

from perfagent.tools.rules._base import Rewrite, Target, rewrite_locally

RATIONALE = "k in d.keys() makes a view object per test; k in d asks the dict directly"


def _receiver(node: cst.BaseExpression) -> cst.BaseExpression | None:
    """``d`` if ``node`` is ``d.keys()`` for a name or attribute chain ``d``."""
    if not (
        isinstance(node, cst.Call)
        and not node.args
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "keys"
    ):
        return None
    base: cst.BaseExpression = node.func.value
    while isinstance(base, cst.Attribute):
        base = base.value
    if not isinstance(base, cst.Name):
        return None
    return node.func.value.with_changes(lpar=node.lpar, rpar=node.rpar)


def _rewrite(node: cst.CSTNode) -> cst.CSTNode | None:
    if isinstance(node, cst.Comparison):
        changed = False
        targets: list[cst.ComparisonTarget] = []
        for target in node.comparisons:
            receiver = None
            if isinstance(target.operator, cst.In | cst.NotIn):
                receiver = _receiver(target.comparator)
            if receiver is not None:
                target = target.with_changes(comparator=receiver)
                changed = True
            targets.append(target)
        return node.with_changes(comparisons=targets) if changed else None
    if isinstance(node, cst.For | cst.CompFor):
        receiver = _receiver(node.iter)
        return node.with_changes(iter=receiver) if receiver is not None else None
    return None


def transform(target: Target) -> Rewrite | None:
    return rewrite_locally(target, _rewrite)
