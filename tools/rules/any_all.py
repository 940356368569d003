"""``any-all-generator``: ``any([... for ...])`` / ``all([...])`` → a generator expression.

Matches a call of the builtin ``any`` or ``all`` whose only argument is a list comprehension.

Rewrite: the brackets are dropped, so ``any``/``all`` consume a generator and stop at the
first decisive element instead of building the whole list first.

Safe when ``any``/``all`` are the builtins (not rebound in the module) and evaluating fewer
elements has no visible effect. Must not fire when the comprehension contains an assignment
expression (``:=`` leaks its last value, which would change), ``await`` or ``yield``.
Caveat: side effects in the element or condition (calls that print, mutate, raise) run only
up to the decisive element; the lab's equivalence check is the backstop for that.
"""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m

from perfagent.tools.rules._base import Rewrite, Target, builtin_available, rewrite_locally

RATIONALE = "any([...]) builds the whole list first; any(...) on a generator stops early"

_UNSAFE = m.NamedExpr() | m.Await() | m.Yield()


def _rewrite(node: cst.CSTNode) -> cst.CSTNode | None:
    if not (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Name)
        and node.func.value in ("any", "all")
        and len(node.args) == 1
        and node.args[0].keyword is None
        and not node.args[0].star
        and isinstance(node.args[0].value, cst.ListComp)
    ):
        return None
    comp = node.args[0].value
    if m.findall(comp, _UNSAFE):
        return None
    generator = cst.GeneratorExp(elt=comp.elt, for_in=comp.for_in, lpar=[], rpar=[])
    return node.with_changes(args=[node.args[0].with_changes(value=generator)])


def transform(target: Target) -> Rewrite | None:
    if not builtin_available(target, "any", "all"):
        return None
    return rewrite_locally(target, _rewrite)
