"""asv (airspeed velocity) suites: find them, list their timing benchmarks, and write a
perfagent ``python`` workload that runs one of them the way asv does.

Discovery is static (``ast``: no code of the repository runs), so it sees what asv's
discovery sees for plain modules: ``time_*`` / ``Time*`` functions and methods of classes
defined in the benchmark package (inherited methods are not listed). The generated workload
imports the benchmark suite from beside itself (the same code for every variant) and
follows asv's semantics
(``asv_runner`` / ``asv/benchmark.py``): see ``_WORKLOAD`` below.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path

from perfagent.tools.errors import TaskSpecError

CONFIG_NAMES = ("asv.conf.json", "benchmarks/asv.conf.json", "asv_bench/asv.conf.json")
_TIMING = re.compile(r"^(Time[A-Z_].+)|(time_.+)$")  # asv's TimeBenchmark.name_regex
_COMMENT = re.compile(r"^\s*//.*$", re.MULTILINE)


@dataclass(frozen=True)
class AsvBenchmark:
    name: str  # asv's name: module path in the suite, class, function ("mod.Cls.time_x")
    module: str  # dotted module path relative to the benchmark package
    owner: str | None  # the class, or None for a module-level function
    function: str
    file: str  # repo-relative path of the module
    params: bool  # declares params (then PARAM_INDEX picks a combination)


@dataclass(frozen=True)
class AsvSuite:
    config: str  # repo-relative path of asv.conf.json
    benchmark_dir: str  # repo-relative
    benchmarks: tuple[AsvBenchmark, ...]


def find_suite(repo: Path) -> AsvSuite | None:
    """The repository's asv suite, or None if it has no ``asv.conf.json``."""
    config = next((repo / name for name in CONFIG_NAMES if (repo / name).is_file()), None)
    if config is None:
        return None
    try:
        # asv's own loader accepts // comment lines.
        data = json.loads(_COMMENT.sub("", config.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TaskSpecError(f"{config}: not valid JSON ({exc})") from exc
    raw_dir = data.get("benchmark_dir", "benchmarks") if isinstance(data, dict) else "benchmarks"
    bench_dir = (config.parent / str(raw_dir)).resolve()
    try:
        relative = bench_dir.relative_to(repo.resolve()).as_posix()
    except ValueError as exc:
        raise TaskSpecError(f"{config}: benchmark_dir {raw_dir!r} is outside the repo") from exc
    found = _benchmarks(repo, bench_dir) if bench_dir.is_dir() else []
    return AsvSuite(config.relative_to(repo).as_posix(), relative, tuple(found))


def _benchmarks(repo: Path, bench_dir: Path) -> list[AsvBenchmark]:
    found: list[AsvBenchmark] = []
    for path in sorted(bench_dir.rglob("*.py")):
        parts = path.relative_to(bench_dir).with_suffix("").parts
        if any(p.startswith(".") or p in {"env", "results", "html"} for p in parts):
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not parts:
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        found.extend(_module_benchmarks(tree, ".".join(parts), path.relative_to(repo)))
    return found


def _module_benchmarks(tree: ast.Module, module: str, file: Path) -> list[AsvBenchmark]:
    module_params = _assigns(tree.body, "params")
    attributes = _function_attributes(tree)
    found = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and _TIMING.match(node.name):
            params = module_params or "params" in attributes.get(node.name, set())
            found.append(
                AsvBenchmark(
                    f"{module}.{node.name}", module, None, node.name, file.as_posix(), params
                )
            )
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            params = module_params or _assigns(node.body, "params")
            found.extend(
                AsvBenchmark(
                    f"{module}.{node.name}.{item.name}",
                    module,
                    node.name,
                    item.name,
                    file.as_posix(),
                    params,
                )
                for item in node.body
                if isinstance(item, ast.FunctionDef) and _TIMING.match(item.name)
            )
    return found


def _assigns(body: list[ast.stmt], name: str) -> bool:
    return any(
        isinstance(stmt, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == name for t in stmt.targets)
        for stmt in body
    )


def _function_attributes(tree: ast.Module) -> dict[str, set[str]]:
    """``time_x.params = ...`` at module level: attributes set on functions."""
    attributes: dict[str, set[str]] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
                    attributes.setdefault(target.value.id, set()).add(target.attr)
    return attributes


def choose(suite: AsvSuite, pattern: str | None) -> AsvBenchmark:
    """The benchmark named ``pattern`` (exactly, else the first whose name contains it), or
    the suite's first benchmark (files in path order, definitions in source order)."""
    if not suite.benchmarks:
        raise TaskSpecError(f"{suite.config}: no time_* benchmarks in {suite.benchmark_dir}/")
    if pattern is None:
        return suite.benchmarks[0]
    exact = [b for b in suite.benchmarks if b.name == pattern]
    matching = exact or [b for b in suite.benchmarks if pattern in b.name]
    if not matching:
        raise TaskSpecError(f"{suite.config}: no asv timing benchmark matches {pattern!r}")
    return matching[0]


def workload_source(suite: AsvSuite, benchmark: AsvBenchmark, param_index: int) -> str:
    """A perfagent ``python`` workload file that runs ``benchmark`` as asv would."""
    return _WORKLOAD.format(
        name=benchmark.name,
        benchmark_dir=repr(suite.benchmark_dir),
        module=repr(benchmark.module),
        owner=repr(benchmark.owner),
        function=repr(benchmark.function),
        param_index=param_index,
    )


_WORKLOAD = '''\
"""perfagent workload: the asv benchmark {name} (written by `perfagent init`).

The benchmark suite is imported from beside this file (BENCHMARK_DIR is relative to its
folder, the repository root), or where a sandbox hides that folder, from the variant's tree
(init protects BENCHMARK_DIR, so a candidate cannot change it there), under a private package
name; the code it times is imported as usual, from the variant's tree.

asv's semantics: setup_cache() runs once per process and its result is passed first to
setup, the benchmark and teardown; every setup() asv would find (the module's, the class's,
the function's own attribute; names matched case-insensitively) runs before each timed
call, untimed, and teardown() after it; `params` (one list, or a list of lists for several
parameters) gives combination PARAM_INDEX of their Cartesian product, in asv's order (asv's
"benchmark-N" id). A setup() raising NotImplementedError means asv skips the benchmark for
these parameters: here it is an error naming them, so pick another PARAM_INDEX.
Edit the constants to time another benchmark; `perfagent init --force` rewrites this file.
"""

import atexit
import importlib
import importlib.util
import itertools
import os
import sys
import types

BENCHMARK_DIR = {benchmark_dir}  # asv's benchmark_dir, relative to the repository root
MODULE = {module}  # module inside the benchmark package
CLASS = {owner}  # None for a module-level function
FUNCTION = {function}
PARAM_INDEX = {param_index}  # which combination of params (0 = the first of each)


def _attrs(source, name):
    # asv's _get_attr(..., ignore_case=True)
    return [getattr(source, key) for key in dir(source) if key.lower() == name]


def _all(sources, name):
    return [value for source in sources for value in _attrs(source, name)[:1]]


def _first(sources, name, default):
    # asv's _get_first_attr (exact names)
    found = [getattr(s, name) for s in sources if getattr(s, name, None) is not None]
    return found[0] if found else default


def _import_package(root):
    # A name perfagent's driver knows is not the project's (no foreign-import error).
    package = "_perfagent_asv"
    if package not in sys.modules:
        init = os.path.join(root, "__init__.py")
        if os.path.isfile(init):
            spec = importlib.util.spec_from_file_location(
                package, init, submodule_search_locations=[root]
            )
            module = importlib.util.module_from_spec(spec)
            sys.modules[package] = module
            spec.loader.exec_module(module)
        else:
            module = types.ModuleType(package)
            module.__path__ = [root]
            sys.modules[package] = module
    return package


class _Benchmark:
    def __init__(self):
        # Next to this file; else in the tree being measured (perfagent runs the workload in
        # each variant's tree, where a sandbox shows this file but not its folder).
        here = os.path.dirname(os.path.abspath(__file__))
        if not os.path.isdir(os.path.join(here, BENCHMARK_DIR)):
            here = os.getcwd()
        package = _import_package(os.path.join(here, BENCHMARK_DIR))
        module = importlib.import_module(f"{{package}}.{{MODULE}}")
        if CLASS is None:
            self.func = getattr(module, FUNCTION)
            sources = [self.func, module]
        else:
            instance = getattr(module, CLASS)()
            self.func = getattr(instance, FUNCTION)
            sources = [self.func, instance, module]
        self.setups = _all(sources, "setup")[::-1]
        self.teardowns = _all(sources, "teardown")
        params = list(_first(sources, "params", []))
        if params and not isinstance(params[0], (tuple, list)):
            params = [params]  # one list: a single parameter
        combinations = list(itertools.product(*params))
        if PARAM_INDEX >= len(combinations):
            raise IndexError(
                f"PARAM_INDEX {{PARAM_INDEX}}: {name} has {{len(combinations)}} combination(s)"
            )
        self.args = tuple(combinations[PARAM_INDEX])
        setup_cache = _first(sources, "setup_cache", None)
        if setup_cache is not None:
            self.args = (setup_cache(), *self.args)
        self.set_up = False

    def setup(self):
        self.teardown()
        try:
            for setup in self.setups:
                setup(*self.args)
        except NotImplementedError as exc:
            raise RuntimeError(
                f"asv skips {name} for params {{self.args!r}}: setup raised NotImplementedError"
            ) from exc
        self.set_up = True

    def teardown(self):
        if self.set_up:
            self.set_up = False
            for teardown in self.teardowns:
                teardown(*self.args)


_benchmark = None


def setup():
    global _benchmark
    if _benchmark is None:
        _benchmark = _Benchmark()
        atexit.register(_benchmark.teardown)
    _benchmark.setup()


def workload():
    return _benchmark.func(*_benchmark.args)
'''
