"""``linear-search-to-index``: scans of a list inside a loop become lookups in a dict built once.

Matches, inside a ``for``/``while`` loop of the target function:

* ``next((p for p in xs if p[K] == v), default)`` (also ``p.attr``, and ``v == p[K]``) →
  ``xs_by_K.get(v, default)`` with ``xs_by_K`` mapping each key to its *first* item
  (``setdefault``), which is what the scan returns;
* ``[p for p in xs if p[K] == v]`` → ``list(xs_groups_by_K.get(v, ()))`` with
  ``xs_groups_by_K`` mapping each key to its items in list order (a fresh list each time, as
  before).

The index is built just before the outermost loop holding the scan, so once per call.

Safe when ``xs`` is a parameter annotated ``list``/``tuple``/``Sequence`` (so iterating it
twice is fine) that is not rebound and, inside that loop, is used only by such scans; ``K``
is a literal and ``v`` a call-free expression (names, attributes, subscripts, literals) that
does not mention ``p``. ``next`` without a default is left alone (it raises
``StopIteration``, a dict lookup could not reproduce that). Caveats, accepted and left to the
lab's equivalence check: keys and ``v`` must be hashable; every item must have ``K`` (the
index reads it for all items, even if the loop ends early or runs zero times); ``xs`` must
not be mutated by code called from the loop; NaN keys compare differently.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from perfagent.tools.rules._base import (
    Rewrite,
    Target,
    all_names,
    builtin_available,
    code,
    enclosing_loop,
    fresh_name,
    is_binding,
    is_hashable_literal,
    occurrences,
    walk,
)

RATIONALE = "scanning a list inside a loop is O(n·m); a dict built once makes each lookup O(1)"

_SEQUENCE_ANNOTATIONS = ("list", "List", "tuple", "Tuple", "Sequence")


@dataclass(frozen=True)
class _Site:
    node: cst.Call | cst.ListComp
    loop: cst.For | cst.While  # outermost loop holding the scan
    items: str
    key: cst.BaseExpression  # ``p[K]`` or ``p.attr``, as written
    value: cst.BaseExpression
    default: cst.BaseExpression | None  # None for the list form


def _simple_value(node: cst.BaseExpression, var: str) -> bool:
    """Call-free, side-effect-free and not mentioning the scan variable."""
    if is_hashable_literal(node):
        return True
    if isinstance(node, cst.Name):
        return node.value != var
    if isinstance(node, cst.Attribute):
        return _simple_value(node.value, var)
    if isinstance(node, cst.Subscript):
        return (
            len(node.slice) == 1
            and isinstance(node.slice[0].slice, cst.Index)
            and _simple_value(node.slice[0].slice.value, var)
            and _simple_value(node.value, var)
        )
    return False


def _key_of(node: cst.BaseExpression, var: str) -> str | None:
    """A name fragment for ``p[K]`` (literal K) or ``p.attr``; None for anything else."""
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name):
        return node.attr.value if node.value.value == var else None
    if not (
        isinstance(node, cst.Subscript)
        and isinstance(node.value, cst.Name)
        and node.value.value == var
        and len(node.slice) == 1
        and isinstance(node.slice[0].slice, cst.Index)
    ):
        return None
    index = node.slice[0].slice.value
    if isinstance(index, cst.SimpleString):
        text = index.evaluated_value
        return text if isinstance(text, str) and text.isidentifier() else "key"
    return "key" if isinstance(index, cst.Integer) else None


def _scan(
    comp: cst.GeneratorExp | cst.ListComp,
) -> tuple[str, cst.BaseExpression, cst.BaseExpression] | None:
    """``(items, key, value)`` for ``p for p in items if key == value``."""
    loop = comp.for_in
    if (
        loop.inner_for_in is not None
        or loop.asynchronous is not None
        or len(loop.ifs) != 1
        or not isinstance(loop.target, cst.Name)
        or not isinstance(loop.iter, cst.Name)
        or not isinstance(comp.elt, cst.Name)
        or comp.elt.value != loop.target.value
    ):
        return None
    var = loop.target.value
    test = loop.ifs[0].test
    if not (
        isinstance(test, cst.Comparison)
        and len(test.comparisons) == 1
        and isinstance(test.comparisons[0].operator, cst.Equal)
    ):
        return None
    for key, value in (
        (test.left, test.comparisons[0].comparator),
        (test.comparisons[0].comparator, test.left),
    ):
        if _key_of(key, var) is not None and _simple_value(value, var):
            return loop.iter.value, key, value
    return None


def _site(node: cst.CSTNode, ancestors: tuple[cst.CSTNode, ...]) -> _Site | None:
    default: cst.BaseExpression | None = None
    if isinstance(node, cst.Call):
        if not (
            isinstance(node.func, cst.Name)
            and node.func.value == "next"
            and len(node.args) == 2
            and all(a.keyword is None and not a.star for a in node.args)
            and isinstance(node.args[0].value, cst.GeneratorExp)
        ):
            return None
        comp: cst.GeneratorExp | cst.ListComp = node.args[0].value
        default = node.args[1].value
    elif isinstance(node, cst.ListComp):
        comp = node
    else:
        return None
    scan = _scan(comp)
    loop = enclosing_loop(ancestors, node, outermost=True)
    if scan is None or loop is None:
        return None
    return _Site(node, loop, scan[0], scan[1], scan[2], default)


def _items_ok(function: cst.FunctionDef, site: _Site, sites: list[_Site]) -> bool:
    """``items`` is a sequence parameter, never rebound, used in the loop only by scans."""
    param = next(
        (
            p
            for p in (*function.params.params, *function.params.kwonly_params)
            if p.name.value == site.items
        ),
        None,
    )
    if param is None or param.annotation is None:
        return False
    annotation = code(param.annotation.annotation).split("[")[0].split(".")[-1]
    if annotation not in _SEQUENCE_ANNOTATIONS:
        return False
    scans = [s.node for s in sites if s.items == site.items]
    for occ in occurrences(function, site.items):
        if occ.in_nested_scope:
            return False
        if is_binding(occ):
            if occ.parent is not param:
                return False
            continue
        if any(a is site.loop for a in occ.ancestors) and not any(
            a is s for s in scans for a in occ.ancestors
        ):
            return False
    return True


def _index_statements(
    name: str, items: str, key: cst.BaseExpression, var: str, item: str, group: bool
) -> list[cst.BaseStatement]:
    key_code = code(key).replace(var, item, 1)  # ``p[K]`` / ``p.attr``: p comes first
    add = (
        f"setdefault({key_code}, []).append({item})"
        if group
        else (f"setdefault({key_code}, {item})")
    )
    return [
        cst.parse_statement(f"{name} = {{}}\n"),
        cst.parse_statement(f"for {item} in {items}:\n    {name}.{add}\n"),
    ]


class _Apply(cst.CSTTransformer):
    def __init__(
        self,
        replacements: dict[int, cst.BaseExpression],
        prefixes: dict[int, list[cst.BaseStatement]],
    ) -> None:
        self.replacements = replacements
        self.prefixes = prefixes

    def on_leave(  # type: ignore[override]  # returns other node types on purpose
        self, original_node: cst.CSTNode, updated_node: cst.CSTNode
    ) -> cst.CSTNode | cst.RemovalSentinel | cst.FlattenSentinel[cst.CSTNode]:
        if id(original_node) in self.replacements:
            return self.replacements[id(original_node)]
        prefix = self.prefixes.get(id(original_node))
        if prefix is None:
            return updated_node
        assert isinstance(updated_node, cst.For | cst.While)
        first = prefix[0].with_changes(leading_lines=updated_node.leading_lines)
        loop = updated_node.with_changes(leading_lines=[])
        return cst.FlattenSentinel([first, *prefix[1:], loop])


def transform(target: Target) -> Rewrite | None:
    function = target.node
    if not builtin_available(target, "next", "list"):
        return None
    sites = [s for node, anc in walk(function) if (s := _site(node, anc)) is not None]
    sites = [s for s in sites if _items_ok(function, s, sites)]
    if not sites:
        return None
    taken = all_names(target.module)
    indexes: dict[tuple[int, str, str, bool], str] = {}
    replacements: dict[int, cst.BaseExpression] = {}
    prefixes: dict[int, list[cst.BaseStatement]] = {}
    for site in sites:
        group = site.default is None
        var = code(site.key).split("[")[0].split(".")[0]
        index_key = (id(site.loop), site.items, code(site.key).replace(var, "_", 1), group)
        if index_key not in indexes:
            fragment = _key_of(site.key, var) or "key"
            base = f"{site.items}_{'groups_' if group else ''}by_{fragment}"
            name = indexes[index_key] = fresh_name(base, taken)
            item = fresh_name("_item", taken)
            statements = _index_statements(name, site.items, site.key, var, item, group)
            prefixes.setdefault(id(site.loop), []).extend(statements)
        name = indexes[index_key]
        value = code(site.value)
        if group:
            new = f"list({name}.get({value}, ()))"
        else:
            assert site.default is not None
            new = f"{name}.get({value}, {code(site.default)})"
        replacements[id(site.node)] = cst.parse_expression(new).with_changes(
            lpar=site.node.lpar, rpar=site.node.rpar
        )
    new_function = function.visit(_Apply(replacements, prefixes))
    assert isinstance(new_function, cst.FunctionDef)
    return Rewrite(new_function, len(sites))
