"""What each scope of a module binds, and which of a function's values come from its inputs.

Enough of Python's scoping rules to tell a function's local dict (fine) from a module-level,
class-level or default-argument dict that outlives the call (a cache the workload can hit on
its second run). Approximations lean towards "local": comprehension variables count as
locals of the enclosing function and a closure's free variables are never flagged.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field

from perfagent.tools.guard.literals import Value, fold

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
Function = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
_MUTABLE_CALLS = frozenset(
    {
        "dict",
        "list",
        "set",
        "bytearray",
        "collections.OrderedDict",
        "collections.defaultdict",
        "collections.deque",
        "collections.Counter",
    }
)


def own_nodes(nodes: list[ast.stmt] | list[ast.expr]) -> Iterator[ast.AST]:
    """Every node of these statements that belongs to their scope: nested functions, lambdas
    and classes are yielded themselves but not entered."""
    stack: list[ast.AST] = list(reversed(nodes))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, _SCOPES):
            # Decorators, defaults and bases run in this scope; the body does not.
            outer: list[ast.AST] = list(getattr(node, "decorator_list", []))
            if isinstance(node, ast.ClassDef):
                outer += [*node.bases, *node.keywords]
            else:
                outer += [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]
            stack.extend(reversed(outer))
            continue
        stack.extend(reversed(list(ast.iter_child_nodes(node))))


def stored_names(target: ast.AST) -> set[str]:
    """The plain names a target binds (``a, (b, *c) = ...`` → a, b, c; ``d[k] = ...`` none)."""
    return {
        n.id for n in ast.walk(target) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }


def mentions(node: ast.AST, names: frozenset[str] | set[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(node))


@dataclass
class Module:
    """Module-wide facts: import aliases, top-level names, constants, function names."""

    aliases: dict[str, str] = field(default_factory=dict)  # local name → dotted origin
    names: set[str] = field(default_factory=set)  # bound at module level
    variables: set[str] = field(default_factory=set)  # ... by assignment (not def/import)
    constants: dict[str, Value] = field(default_factory=dict)  # NAME = literal, bound once
    functions: set[str] = field(default_factory=set)  # every def's name, any depth

    @classmethod
    def of(cls, tree: ast.Module) -> Module:
        facts = cls()
        for node in ast.walk(tree):  # imports anywhere: function-level imports alias too
            if isinstance(node, ast.Import):
                for alias in node.names:
                    local = alias.asname or alias.name.split(".")[0]
                    facts.aliases[local] = alias.name if alias.asname else local
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    facts.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                facts.functions.add(node.name)
            elif isinstance(node, ast.Global):  # a module variable first bound in a function
                facts.names.update(node.names)
                facts.variables.update(node.names)
        assigned: dict[str, int] = {}
        for node in own_nodes(tree.body):
            names = _bound_by(node)
            facts.names |= names
            if isinstance(node, ast.Name):
                facts.variables |= names
            for name in names:
                assigned[name] = assigned.get(name, 0) + 1
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, value = node.targets[0], fold(node.value)
                if isinstance(target, ast.Name) and value is not None:
                    facts.constants[target.id] = value
        facts.constants = {k: v for k, v in facts.constants.items() if assigned[k] == 1}
        return facts

    def dotted(self, node: ast.AST) -> str | None:
        """``np.linalg.norm`` → ``numpy.linalg.norm`` through the module's imports."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        parts.append(self.aliases.get(node.id, node.id))
        return ".".join(reversed(parts))


def _bound_by(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
        return {node.id}
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Import | ast.ImportFrom):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    if isinstance(node, ast.ExceptHandler) and node.name:
        return {node.name}
    if isinstance(node, ast.MatchAs | ast.MatchStar) and node.name:
        return {node.name}
    if isinstance(node, ast.MatchMapping) and node.rest:
        return {node.rest}
    return set()


@dataclass(frozen=True)
class ClassFacts:
    qualname: str
    attrs: frozenset[str]  # bound in the class body: shared by every instance
    instance_attrs: frozenset[str]  # assigned as ``self.x = ...`` in a method

    @classmethod
    def of(cls, node: ast.ClassDef, qualname: str) -> ClassFacts:
        attrs: set[str] = set()
        for stmt in node.body:
            if isinstance(stmt, ast.Assign):
                attrs |= set().union(*(stored_names(t) for t in stmt.targets))
            elif isinstance(stmt, ast.AugAssign):
                attrs |= stored_names(stmt.target)
            elif isinstance(stmt, ast.AnnAssign) and _is_class_var(stmt.annotation):
                # Other annotated names are fields (dataclasses, attrs, pydantic): each
                # instance gets its own value.
                attrs |= stored_names(stmt.target)
        instance: set[str] = set()
        for stmt in node.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                me = first_param(stmt)
                for sub in ast.walk(stmt):
                    if (
                        isinstance(sub, ast.Attribute)
                        and isinstance(sub.ctx, ast.Store)
                        and isinstance(sub.value, ast.Name)
                        and sub.value.id == me
                    ):
                        instance.add(sub.attr)
        return cls(qualname, frozenset(attrs), frozenset(instance))


def _is_class_var(annotation: ast.expr) -> bool:
    return any(
        (isinstance(n, ast.Name) and n.id == "ClassVar")
        or (isinstance(n, ast.Attribute) and n.attr == "ClassVar")
        or (isinstance(n, ast.Constant) and "ClassVar" in str(n.value))
        for n in ast.walk(annotation)
    )


def first_param(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    decorators = {d.id for d in node.decorator_list if isinstance(d, ast.Name)}
    params = [*node.args.posonlyargs, *node.args.args]
    return None if "staticmethod" in decorators or not params else params[0].arg


def _params(node: Function) -> list[ast.arg]:
    args = node.args
    extra = [a for a in (args.vararg, args.kwarg) if a is not None]
    return [*args.posonlyargs, *args.args, *args.kwonlyargs, *extra]


def _mutable_defaults(node: Function, module: Module) -> frozenset[str]:
    """Parameters whose default is a fresh-looking container: one object for every call."""
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    with_default = positional[len(positional) - len(args.defaults) :]
    pairs = list(zip(with_default, args.defaults, strict=True))
    pairs += [
        (a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None
    ]
    found = set()
    for arg, default in pairs:
        display = ast.Dict | ast.List | ast.Set | ast.DictComp | ast.ListComp | ast.SetComp
        if isinstance(default, display) or (
            isinstance(default, ast.Call) and module.dotted(default.func) in _MUTABLE_CALLS
        ):
            found.add(arg.arg)
    return frozenset(found)


@dataclass(frozen=True)
class Scope:
    kind: str  # "module", "class" or "function"
    qualname: str  # Python's __qualname__; "<module>" for module level
    locals: frozenset[str] = frozenset()  # parameters included
    declared_global: frozenset[str] = frozenset()
    mutable_defaults: frozenset[str] = frozenset()
    tainted: frozenset[str] = frozenset()  # parameters and names computed from them
    self_name: str | None = None  # a method's first parameter
    cls: ClassFacts | None = None  # the class a method belongs to
    enclosing_locals: frozenset[str] = frozenset()  # of enclosing functions (closures)
    functions: frozenset[str] = frozenset()  # names bound here by a ``def``

    def child_qualname(self, name: str) -> str:
        if self.kind == "module":
            return name
        if self.kind == "function":
            return f"{self.qualname}.<locals>.{name}"
        return f"{self.qualname}.{name}"


def function_scope(node: Function, parent: Scope, module: Module) -> Scope:
    name = "<lambda>" if isinstance(node, ast.Lambda) else node.name
    body: list[ast.stmt] | list[ast.expr] = (
        [node.body] if isinstance(node, ast.Lambda) else node.body
    )
    params = {a.arg for a in _params(node)}
    declared: set[str] = set()  # global or nonlocal: not this function's own names
    globals_: set[str] = set()
    bound = set(params)
    for sub in own_nodes(body):
        if isinstance(sub, ast.Global | ast.Nonlocal):
            declared.update(sub.names)
        if isinstance(sub, ast.Global):
            globals_.update(sub.names)
        bound |= _bound_by(sub)
    defaults = _mutable_defaults(node, module)
    nested = parent.kind == "function"
    self_name = None
    if parent.kind == "class" and not isinstance(node, ast.Lambda):
        self_name = first_param(node)  # a method: its first parameter is the instance
    outer_taint = parent.tainted if nested else frozenset()
    enclosing = parent.locals | parent.enclosing_locals if nested else frozenset()
    return Scope(
        kind="function",
        qualname=parent.child_qualname(name),
        locals=frozenset(bound - declared),
        declared_global=frozenset(globals_),
        mutable_defaults=defaults,
        tainted=_taint(body, (params - defaults) | (outer_taint - bound)),
        self_name=self_name,
        cls=parent.cls if parent.kind == "class" else None,
        enclosing_locals=frozenset(enclosing),
        functions=defs_in(body),
    )


def defs_in(body: list[ast.stmt] | list[ast.expr]) -> frozenset[str]:
    return frozenset(
        n.name for n in own_nodes(body) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    )


def _taint(body: list[ast.stmt] | list[ast.expr], seed: set[str]) -> frozenset[str]:
    """Names whose values are computed from ``seed``, to a fixpoint (``n = len(data)``,
    ``key = (a, b)``, ``for item in data``)."""
    flows: list[tuple[set[str], ast.AST]] = []
    for node in own_nodes(body):
        if isinstance(node, ast.Assign):
            flows.append((set().union(*(stored_names(t) for t in node.targets)), node.value))
        elif isinstance(node, ast.AugAssign | ast.AnnAssign | ast.NamedExpr) and node.value:
            flows.append((stored_names(node.target), node.value))
        elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
            flows.append((stored_names(node.target), node.iter))
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            flows.append((stored_names(node.optional_vars), node.context_expr))
    tainted = set(seed)
    changed = True
    while changed:
        changed = False
        for targets, value in flows:
            if not targets <= tainted and mentions(value, tainted):
                tainted |= targets
                changed = True
    return frozenset(tainted)
