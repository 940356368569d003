"""``hoist-loop-invariant``: lookups and arithmetic that give the same result on every
iteration of a loop are done once, just before it.

Matches, in the code a ``for``/``while`` loop of the target function runs per iteration (body,
``while`` test; not nested functions, lambdas, classes or comprehensions):

* (a) ``obj.method(...)`` where every binding of the local ``obj`` is a fresh builtin
  container of one kind (list, dict or set display or comprehension, ``list()``/``dict()``/
  ``set()``/``bytearray()``) and ``method`` is one of its methods in ``_METHODS``;
* (b) a call of a builtin in ``_BUILTINS`` (``len``, ``abs``, ``isinstance``...) or of a
  function of a module in ``_MODULES`` (``math.sqrt``) bound by one top-level ``import math``;
* (c) a maximal subexpression with a binary operator made only of ``+ - *``, unary ``- +``,
  ``/ // %`` by a non-zero number literal, number literals, ``math.pi/e/tau/inf`` and
  *numeric* names not bound in the loop: parameters annotated ``int``/``float`` and never
  rebound, or locals whose every binding is a number literal, ``len()``/``int()``/
  ``float()``, ``+ - *`` of numeric operands, or ``for name in range(...)``.

Rewrite, before the outermost loop where the site is still invariant: ``obj_method =
obj.method`` (a), ``_len = len`` / ``sqrt = math.sqrt`` (b), ``_hoisted = <expression>`` (c);
the sites use these locals.

Safety: the hoisted lookup or expression runs once before the loop, also when the loop runs
zero times or the site is conditional, so it must neither fail nor have effects, and its
names must be bound there. (a) A listed method of a builtin container always exists and its
lookup does nothing else; ``obj`` is bound by a statement that dominates the loop (earlier in
the same or an enclosing block). (b) The builtin is bound nowhere in the module, which has no
``from m import *`` and does not mention ``globals``/``exec``/``eval``/``builtins``; the
module attribute exists (checked here). (c) On numbers these operators neither fail nor have
effects; the hoisted node is a subtree of the original, so float arithmetic is not
re-associated; each name is a parameter or bound by a dominating statement or enclosing
``for``. Must not fire for names (re)bound anywhere in the loop (assignment, ``for`` target,
walrus, ``with``/``except`` ``as``, ``import``), declared ``global``/``nonlocal``, deleted,
or used by a nested function/lambda/class; parameters in (a) (unknown type); calls in (c);
loops holding a ``try`` whose handlers name ``NameError``/``UnboundLocalError``/
``AttributeError``; (b) in loops with ``yield``/``await`` (globals could change meanwhile);
``async for``; functions calling ``locals``/``vars``/``exec``/``eval``/``globals``.

Not matched on purpose: ``lst.append(x)``: CPython 3.11+ specialises that call, and the alias
measured slower (4.7 → 5.9 ms for 200,000 appends on 3.11.7).

Caveats, accepted and left to the lab's equivalence check: a builtin or module function
monkeypatched while the loop runs is not seen; annotations are not enforced, so a parameter
annotated ``int`` holding another type could fail or run an operator method before the loop
(as could an ``int`` too large for a float mixed with floats: ``OverflowError``).

The facts about the function's names and loops that these conditions use are gathered in
``_hoist_facts.py``; this module plans and applies the hoisting.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import libcst as cst

from perfagent.tools.rules._base import (
    Occurrence,
    Rewrite,
    Target,
    builtin_available,
    code,
    fresh_name,
    imports_module,
    is_builtin_call,
    replace_nodes_before,
    walk,
)
from perfagent.tools.rules._hoist_facts import (
    Loop,
    Names,
    binding_statement,
    dominated,
    guards_names,
    loops_around,
    references,
    suspends,
)

RATIONALE = "work that gives the same result on every iteration is done once before the loop"

_BUILTINS = frozenset({
    "abs", "all", "any", "bool", "callable", "chr", "divmod", "enumerate", "filter", "float",
    "frozenset", "getattr", "hasattr", "hash", "int", "isinstance", "issubclass", "iter",
    "len", "list", "map", "max", "min", "next", "ord", "pow", "range", "repr", "reversed",
    "round", "set", "sorted", "str", "sum", "tuple", "type", "zip",
})  # fmt: skip
_MODULES = ("math", "cmath", "operator", "bisect", "heapq")
_MATH_CONSTANTS = frozenset({"pi", "e", "tau", "inf"})
_METHODS = {
    "list": frozenset({"extend", "insert", "pop", "remove", "index", "count"}),
    "dict": frozenset({"get", "setdefault", "pop", "update"}),
    "set": frozenset({"add", "discard", "remove", "update"}),
    "bytearray": frozenset({"append", "extend"}),
}
_DISPLAYS: dict[type[cst.CSTNode], str] = {
    cst.List: "list", cst.ListComp: "list", cst.Dict: "dict", cst.DictComp: "dict",
    cst.Set: "set", cst.SetComp: "set",
}  # fmt: skip
_DYNAMIC = frozenset({"locals", "vars", "exec", "eval", "globals"})
_SCOPE_WORDS = frozenset({"globals", "exec", "eval", "builtins", "__builtins__"})


@dataclass
class _Plan:
    """Aliases to define before loops, and the sites that use them."""

    taken: set[str]
    aliases: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (name, value)
    before: dict[int, dict[str, None]] = field(default_factory=dict)  # loop id -> keys
    replacements: dict[int, cst.CSTNode] = field(default_factory=dict)

    def use(self, key: str, base: str, value: str, loop: Loop, site: cst.CSTNode) -> None:
        if key not in self.aliases:
            self.aliases[key] = (fresh_name(base, self.taken), value)
        self.before.setdefault(id(loop), {})[key] = None
        self.replacements[id(site)] = cst.Name(self.aliases[key][0])

    def statements(self) -> dict[int, list[cst.BaseStatement]]:
        return {
            loop: [cst.parse_statement("{} = {}\n".format(*self.aliases[key])) for key in keys]
            for loop, keys in self.before.items()
        }


class _Hoister:
    def __init__(self, target: Target) -> None:
        self.target = target
        self.function = target.node
        self.names = Names.of(target.node)
        # Fresh names avoid every variable of the module (attribute labels may be reused).
        self.plan = _Plan(references(target.module))
        self.ancestors: dict[int, tuple[cst.CSTNode, ...]] = {}
        # Nothing may rebind builtins behind the module's back.
        self.globals_stable = not self.plan.taken & _SCOPE_WORDS and not any(
            isinstance(small, cst.ImportFrom) and isinstance(small.names, cst.ImportStar)
            for statement in target.module.body
            if isinstance(statement, cst.SimpleStatementLine)
            for small in statement.body
        )

    def placement(
        self, loops: Sequence[Loop], invariant: Callable[[Loop], bool], ok: Callable[[Loop], bool]
    ) -> Loop | None:
        """The outermost loop, among those around the site in which it is invariant, that
        passes ``ok`` and holds no name-error handler."""
        chosen = None
        for loop in reversed(loops):
            if not invariant(loop):
                break
            if ok(loop) and not guards_names(loop):
                chosen = loop
        return chosen

    def container_kind(self, name: str) -> str | None:
        """The builtin container type every binding of the local ``name`` creates."""
        kinds = set()
        for occ in self.names.bindings.get(name, ()):
            statement = binding_statement(occ)
            value = None if isinstance(statement, cst.AugAssign | None) else statement.value
            kind = _DISPLAYS.get(type(value)) if value is not None else None
            if isinstance(value, cst.Call) and is_builtin_call(value, *_METHODS):
                kind = (
                    code(value.func) if builtin_available(self.target, code(value.func)) else None
                )
            kinds.add(kind)
        if name in self.names.params() or name in self.names.refused or len(kinds) != 1:
            return None
        return kinds.pop()

    def method_site(self, call: cst.Call, loops: Sequence[Loop]) -> None:
        func = call.func
        if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)):
            return
        obj, method = func.value.value, func.attr.value
        kind = self.container_kind(obj)
        if kind is None or method not in _METHODS[kind]:
            return
        loop = self.placement(
            loops,
            lambda lp: not self.names.bound_in(obj, lp),
            lambda lp: dominated(self.names, obj, self.ancestors[id(lp)], lp),
        )
        if loop is not None:
            self.plan.use(f"{obj}.{method}", f"{obj}_{method}", code(func), loop, func)

    def global_site(self, call: cst.Call, loops: Sequence[Loop]) -> None:
        func = call.func
        if isinstance(func, cst.Name) and func.value in _BUILTINS:
            name = func.value
            if not (self.globals_stable and builtin_available(self.target, name)):
                return
            key, base, value = name, f"_{name}", name
        elif self.module_attr(func, None):
            assert isinstance(func, cst.Attribute)
            key, base, value = code(func), func.attr.value, code(func)
        else:
            return
        loop = self.placement(loops, lambda lp: True, lambda lp: not suspends(lp))
        if loop is not None:
            self.plan.use(key, base, value, loop, func)

    def module_attr(self, node: cst.CSTNode, attrs: frozenset[str] | None) -> bool:
        """``mod.attr`` for a module of ``_MODULES`` imported once at the top (``import
        mod``, above the function) and an attribute it has (in ``attrs`` if given)."""
        if not (isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name)):
            return False
        mod, attr = node.value.value, node.attr.value
        return (
            mod in _MODULES
            and (attrs is None or attr in attrs)
            and mod not in self.names.refused
            and imports_module(self.target, mod)  # and not rebound in the function
            and hasattr(importlib.import_module(mod), attr)
        )

    def numeric(self, node: cst.BaseExpression, seen: frozenset[str] = frozenset()) -> bool:
        """``node`` evaluates to an int or float (see the module docstring)."""
        if isinstance(node, cst.Integer | cst.Float):
            return True
        if isinstance(node, cst.Name):
            return self.numeric_name(node.value, seen)
        if isinstance(node, cst.UnaryOperation):
            return isinstance(node.operator, cst.Minus | cst.Plus) and self.numeric(
                node.expression, seen
            )
        if isinstance(node, cst.BinaryOperation):
            if isinstance(node.operator, cst.Add | cst.Subtract | cst.Multiply):
                return self.numeric(node.left, seen) and self.numeric(node.right, seen)
            return _nonzero_divisor(node) and self.numeric(node.left, seen)
        if isinstance(node, cst.Call):
            calls = ("len", "int", "float")
            return is_builtin_call(node, *calls) and builtin_available(self.target, *calls)
        return self.module_attr(node, _MATH_CONSTANTS) and code(node).startswith("math.")

    def numeric_name(self, name: str, seen: frozenset[str]) -> bool:
        if name in seen:
            return True  # its first binding cannot read it (that would already fail)
        if name in self.names.refused:
            return False
        seen |= {name}
        param = self.names.params().get(name)
        if param is not None:
            annotation = param.annotation
            return (
                name not in self.names.bindings
                and annotation is not None
                and code(annotation.annotation) in ("int", "float")
            )
        occs = self.names.bindings.get(name, [])
        return bool(occs) and all(self.numeric_binding(occ, seen) for occ in occs)

    def numeric_binding(self, occ: Occurrence, seen: frozenset[str]) -> bool:
        """``for name in range(...)``, or ``name = <numeric>`` (also ``+= -= *=``)."""
        parent, statement = occ.parent, binding_statement(occ)
        if isinstance(parent, cst.For) and parent.target is occ.node:
            return is_builtin_call(parent.iter, "range") and builtin_available(self.target, "range")
        if statement is None or statement.value is None:
            return False
        keeps_type = cst.AddAssign | cst.SubtractAssign | cst.MultiplyAssign
        if isinstance(statement, cst.AugAssign) and not isinstance(statement.operator, keeps_type):
            return False
        return self.numeric(statement.value, seen)

    def expression_site(self, node: cst.BinaryOperation, loops: Sequence[Loop]) -> bool:
        """Plan to hoist ``node``; False if it is not an invariant numeric expression."""
        if not self.numeric(node) or any(isinstance(n, cst.Call) for n, _ in walk(node)):
            return False
        used = references(node) - {"math"}
        if not used and "math." not in code(node):
            return False  # constants only: the compiler folds them
        loop = self.placement(
            loops,
            lambda lp: not any(self.names.bound_in(n, lp) for n in used),
            lambda lp: all(dominated(self.names, n, self.ancestors[id(lp)], lp) for n in used),
        )
        if loop is None:
            return False
        value = code(node.with_changes(lpar=[], rpar=[]))
        if "\n" in value:
            value = f"({value})"  # it spanned lines inside brackets
        self.plan.use(f"({value})", "_hoisted", value, loop, node)
        return True

    def run(self) -> Rewrite | None:
        if references(self.function) & _DYNAMIC:
            return None
        sites: list[tuple[cst.CSTNode, tuple[cst.CSTNode, ...], list[Loop]]] = []
        for node, ancestors in walk(self.function):  # parents before children
            if isinstance(node, cst.For | cst.While):
                self.ancestors[id(node)] = ancestors
            loops = loops_around(ancestors, node)
            if loops:
                sites.append((node, ancestors, loops))
        hoisted: set[int] = set()
        for node, ancestors, loops in sites:
            if isinstance(node, cst.Call):
                self.method_site(node, loops)
                self.global_site(node, loops)
            elif (
                isinstance(node, cst.BinaryOperation)
                and not any(id(a) in hoisted for a in ancestors)  # only maximal ones
                and self.expression_site(node, loops)
            ):
                hoisted.add(id(node))
        if not self.plan.replacements:
            return None
        new = replace_nodes_before(self.function, self.plan.replacements, self.plan.statements())
        return Rewrite(new, len(self.plan.replacements))


def _nonzero_divisor(node: cst.BinaryOperation) -> bool:
    right = node.right
    return (
        isinstance(node.operator, cst.Divide | cst.FloorDivide | cst.Modulo)
        and isinstance(right, cst.Integer | cst.Float)
        and right.evaluated_value != 0
    )


def transform(target: Target) -> Rewrite | None:
    return _Hoister(target).run()
