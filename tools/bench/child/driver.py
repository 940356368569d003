"""Run one workload in this fresh process and report timings as JSON (stdlib only).

Invoked by perfagent as ``python -s -S driver.py SPEC.json`` with the task's interpreter and
the variant's import path in ``PERFAGENT_PYTHONPATH`` instead of ``PYTHONPATH``: nothing of the
tree (no ``sitecustomize.py``, no shadowing module) can run before the driver has taken its
own copy of the clock functions; ``site`` and then the tree join ``sys.path`` afterwards. The
report carries the driver's start and end on the system's monotonic clock, which the parent
checks against the wall time it saw for the process. The spec
names the workload file, the variant tree, how many timed calls, and where to write results.
``python`` workloads define ``setup()`` (optional, untimed, before every call) and
``workload()`` (timed). ``gso`` workloads follow GSO's prob_script contract: ``setup()``
returns data, ``experiment([data])`` is timed, ``store_result``/``load_result``/
``check_equivalence`` compare outputs with a stored reference.
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


def _run_python(
    module: ModuleType, spec: dict[str, Any], report: dict[str, Any], canonical: Any
) -> None:
    setup = getattr(module, "setup", None)
    workload = getattr(module, "workload", None)
    if not callable(workload):
        raise AttributeError(f"{spec['workload_file']} defines no workload() function")
    results: list[Any] = []
    for _ in range(spec["repeat"]):
        if callable(setup):
            setup()
        gc.collect()
        if spec["mode"] == "null":
            # Everything but the timed call, so instruction counts can subtract it.
            continue
        start = time.perf_counter_ns()
        value = workload()
        report["times_ns"].append(time.perf_counter_ns() - start)
        # Keep only the first and last result: enough to notice in-process nondeterminism.
        results = [results[0], value] if results else [value]
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
    result: Any = None
    for _ in range(spec["repeat"]):
        data = module.setup() if callable(getattr(module, "setup", None)) else None
        gc.collect()
        if spec["mode"] == "null":
            continue
        start = time.perf_counter_ns()
        result = experiment(data) if takes_data else experiment()
        report["times_ns"].append(time.perf_counter_ns() - start)
    if spec["mode"] == "null":
        return
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
