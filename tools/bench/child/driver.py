"""Run one workload in this fresh process and report timings as JSON (stdlib only).

Invoked by perfagent as ``python driver.py SPEC.json`` with the task's interpreter. The spec
names the workload file, the variant tree, how it is timed, and where to write results.
``python`` workloads define ``setup()`` (optional, untimed) and ``workload()`` (timed).
``gso`` workloads follow GSO's prob_script contract: ``setup()`` returns data,
``experiment([data])`` is timed, ``store_result``/``load_result``/``check_equivalence``
compare outputs with a stored reference.

A *unit* is timeit's: ``setup()`` (and the timeit ``setup=`` statement) untimed when the
spec says so, then ``number`` calls timed together. A *value* is ``loops`` units, timed
with the collector off when ``gc`` is false (as timeit does); the process reports
``warmup`` discarded values, then ``repeat`` values, each as seconds per call. In
``calibrate`` mode the process instead doubles ``loops`` from 1 until one warm value lasts
``target_s`` (pyperf's rule); a workload whose warm unit already lasts that long gets 1.

Invoked by perfagent as ``python -s -S driver.py SPEC.json`` with the variant's import path in
``PERFAGENT_PYTHONPATH`` instead of ``PYTHONPATH``: nothing of the tree (no
``sitecustomize.py``, no shadowing module) can run before the driver has taken its own copy of
the clock functions; ``site`` and then the tree join ``sys.path`` afterwards. The report
carries the driver's start and end on the system's monotonic clock, which the parent checks
against the wall time it saw for the process.
"""

from __future__ import annotations

import gc
import importlib.util
import inspect
import json
import os
import resource
import sys
import time as _time_module
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

# A snapshot of the ``time`` module taken before any code of the tree can run: patching the
# real module later (a sitecustomize, a helper the workload imports) cannot reach it.
time = SimpleNamespace(
    **{name: getattr(_time_module, name) for name in dir(_time_module) if not name.startswith("_")}
)
_STARTED_NS = time.monotonic_ns()
_HERE = Path(__file__).resolve().parent


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _foreign_imports(tree: Path, skip: set[str]) -> list[str]:
    """Modules whose top-level package exists in this tree but were loaded from elsewhere
    (an editable install pinning another variant, a stale site-packages copy...)."""
    found = []
    roots = [tree, tree / "src"]
    for name, module in list(sys.modules.items()):
        if name in skip or name.startswith("_perfagent"):
            continue
        file = getattr(module, "__file__", None)
        if not file:
            continue
        top = name.split(".")[0]
        owned = any((r / top).is_dir() or (r / f"{top}.py").is_file() for r in roots)
        if owned and not Path(file).resolve().is_relative_to(tree):
            found.append(f"{name} from {file}")
    return sorted(found)


def _peak_rss_kb() -> int:
    """This process's own peak RSS. ``ru_maxrss`` is not it on Linux: it carries over the
    spawning process's peak across exec, so perfagent's own size would leak into it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _error(exc: BaseException, canonical: Any) -> dict[str, Any]:
    kind = type(exc)
    return {
        "type": kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}",
        "message": str(exc)[:2000],
        "traceback": "".join(traceback.format_exception(exc))[-8000:],
        "canonical": canonical.canonical_exception(exc),
    }


_now = time.perf_counter_ns
_MAX_LOOPS = 1 << 24
_MAX_VALUE_TARGETS = 10  # a value lasting longer than this many targets gets fewer loops


class _Timing:
    """How this process times its workload (the ``timing`` part of the spec)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        timing = spec.get("timing", {})
        self.number = int(timing.get("number", 1))
        self.setup_each = timing.get("setup", "each") == "each"
        self.statement = timing.get("setup_statement")
        self.gc_off = not timing.get("gc", True)
        self.loops = int(timing.get("loops") or 1)
        self.warmup = int(timing.get("warmup") or 0)
        self.first_call = bool(timing.get("first_call", True))
        self.target_ns = int(float(timing.get("target_s", 0.1)) * 1e9)
        self.values = int(spec["repeat"])
        self.mode = spec["mode"]


def _value(
    call: Callable[[], Any], before: Callable[[], None] | None, loops: int, t: _Timing
) -> tuple[int, Any]:
    """``loops`` units; the timed nanoseconds and the last result."""
    gc.collect()
    enabled = gc.isenabled()
    if t.gc_off:
        gc.disable()
    result: Any = None
    total = 0
    try:
        if before is None:
            start = _now()
            for _ in range(loops * t.number):
                result = call()
            total = _now() - start
        else:
            for _ in range(loops):
                before()
                start = _now()
                for _ in range(t.number):
                    result = call()
                total += _now() - start
    finally:
        if t.gc_off and enabled:
            gc.enable()
    return total, result


def _affordable_loops(
    call: Callable[[], Any],
    before: Callable[[], None] | None,
    loops: int,
    t: _Timing,
    keep: Callable[[Any], None],
) -> int:
    """``loops`` (calibrated on base), or fewer where one unit of this variant is so much
    slower that a value would last over ``_MAX_VALUE_TARGETS`` targets: a candidate 100×
    slower than base must not take 100× longer to measure. Values are per call, so they stay
    comparable; the loops a process used are reported with it. Asked only when the cold
    first unit says so; then single units (discarded, like a warm-up) run until one fits —
    slow first calls alone cut nothing — or until they have used that many targets."""
    budget = _MAX_VALUE_TARGETS * t.target_ns
    spent, unit = 0, budget
    while spent < budget:
        unit, result = _value(call, before, 1, t)
        keep(result)
        spent += unit
        if unit * loops <= budget:
            return loops
    return max(1, min(loops, t.target_ns // max(unit, 1)))


def _measure(
    call: Callable[[], Any], before: Callable[[], None] | None, t: _Timing, report: dict[str, Any]
) -> list[Any]:
    """Time per the spec; the first and the last result (in-process nondeterminism)."""
    results: list[Any] = []

    def keep(value: Any) -> None:
        nonlocal results
        results = [results[0], value] if results else [value]

    if t.mode == "null":
        # Everything but the timed calls, so instruction counts can subtract it.
        for _ in range(t.values):
            gc.collect()
            if before is not None:
                before()
        return results
    loops = t.loops
    # The process's first unit alone, before any warm-up: nothing is cached yet by an earlier
    # call (the first-call check compares it with the warm values).
    cold = None
    if t.first_call or t.mode == "calibrate":
        cold, result = _value(call, before, 1, t)  # cold: imports, first-call work
        keep(result)
        if t.first_call:
            report["first_ns"] = cold / t.number
    if t.mode == "calibrate":
        loops = 1
        while True:
            elapsed, result = _value(call, before, loops, t)
            keep(result)
            if elapsed >= t.target_ns or loops >= _MAX_LOOPS:
                break
            loops *= 2
        report["loops"] = loops
        report["times_ns"].append(elapsed // (loops * t.number))
        return results
    if cold is not None and loops > 1 and cold * loops > _MAX_VALUE_TARGETS * t.target_ns:
        loops = _affordable_loops(call, before, loops, t, keep)
    report["loops"] = loops
    for index in range(t.warmup + t.values):
        elapsed, result = _value(call, before, loops, t)
        keep(result)
        per_call = elapsed / (loops * t.number)
        report["warmup_ns" if index < t.warmup else "times_ns"].append(per_call)
    return results


def _statement(t: _Timing, module: ModuleType) -> Callable[[], None] | None:
    """timeit's ``setup=`` string: run in a copy of the module's namespace, as timeit runs it
    in its own function's locals (what it calls sees the module; what it binds stays local)."""
    if not t.statement:
        return None
    code = compile(t.statement, "<timeit setup>", "exec")
    return lambda: exec(code, dict(vars(module)))


def _chain(*steps: Callable[[], Any] | None) -> Callable[[], None] | None:
    present = [s for s in steps if s is not None]
    if not present:
        return None

    def run() -> None:
        for step in present:
            step()

    return run


def _run_python(
    module: ModuleType, spec: dict[str, Any], report: dict[str, Any], canonical: Any
) -> None:
    setup = getattr(module, "setup", None)
    workload = getattr(module, "workload", None)
    if not callable(workload):
        raise AttributeError(f"{spec['workload_file']} defines no workload() function")
    t = _Timing(spec)
    each = setup if t.setup_each and callable(setup) else None
    results = _measure(workload, _chain(_statement(t, module), each), t, report)
    if results and spec.get("output"):
        first = canonical.canonicalize(results[0])
        last = canonical.canonicalize(results[-1])
        report["self_consistent"] = json.dumps(first, sort_keys=True) == json.dumps(
            last, sort_keys=True
        )
        Path(spec["output"]).write_text(json.dumps(last, allow_nan=False), encoding="utf-8")


def _run_gso(module: ModuleType, spec: dict[str, Any], report: dict[str, Any]) -> None:
    experiment = getattr(module, "experiment", None)
    if not callable(experiment):
        raise AttributeError(f"{spec['workload_file']} defines no experiment() function")
    takes_data = len(inspect.signature(experiment).parameters) >= 1
    setup = getattr(module, "setup", None)
    t = _Timing(spec)
    data: list[Any] = [None]

    def prepare() -> None:
        data[0] = setup() if callable(setup) else None

    if not t.setup_each:
        prepare()  # GSO's own harness: data made once, experiments timed on it

    def call() -> Any:
        return experiment(data[0]) if takes_data else experiment()

    results = _measure(
        call, _chain(_statement(t, module), prepare if t.setup_each else None), t, report
    )
    if spec["mode"] == "null":
        return
    result = results[-1] if results else None
    if spec.get("store_reference"):
        module.store_result(result, spec["store_reference"])
    if spec.get("check_reference"):
        try:
            module.check_equivalence(module.load_result(spec["check_reference"]), result)
        except AssertionError as exc:
            report["equivalence_failure"] = str(exc)[:2000] or "check_equivalence failed"


def _join_environment() -> None:
    """Now that the clock is ours: the venv's site-packages (``site``, skipped by ``-S``),
    then the variant's tree ahead of them, as ``PYTHONPATH`` would have put it."""
    import site

    site.main()
    tree_path = os.environ.get("PERFAGENT_PYTHONPATH", "")
    sys.path[:0] = [p for p in tree_path.split(os.pathsep) if p]


def main() -> int:
    spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    tree = Path(spec["tree"]).resolve()
    # The driver's own folder must not shadow the project's modules.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
    _join_environment()
    canonical = _load(_HERE / "_perfagent_canonical.py", "_perfagent_canonical")
    report: dict[str, Any] = {
        "times_ns": [],
        "warmup_ns": [],
        "loops": None,
        "error": None,
        "foreign_imports": [],
        "self_consistent": None,
        "equivalence_failure": None,
    }
    os.chdir(tree)
    try:
        module = _load(Path(spec["workload_file"]), "_perfagent_workload")
        if spec["kind"] == "gso":
            _run_gso(module, spec, report)
        else:
            _run_python(module, spec, report, canonical)
    except BaseException as exc:  # a crashing workload is a fact to report, not our crash
        report["error"] = _error(exc, canonical)
    report["foreign_imports"] = _foreign_imports(tree, {"_perfagent_workload"})
    report["max_rss_kb"] = _peak_rss_kb()
    report["clock"] = {"start_ns": _STARTED_NS, "end_ns": time.monotonic_ns()}
    Path(spec["report"]).write_text(json.dumps(report), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
