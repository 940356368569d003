"""What the static checks look for, by name: cache helpers, container writes, timers, frame
and harness lookups. Dotted names are as resolved through the module's imports
(``from time import perf_counter as clock`` makes ``clock`` ``time.perf_counter``)."""

from __future__ import annotations

import ast
import re

CACHE_CALLS = frozenset(
    {
        "functools.cache",
        "functools.lru_cache",
        "functools.cached_property",
        "cachetools.cached",
        "cachetools.cachedmethod",
    }
)
# A decorator whose name says cache or memo is taken for the project's own memoizer.
CACHE_WORDS = re.compile(r"(?i)cach|memo")

# Each workload run is a fresh process, so a cache that pays off there lives on disk.
DISK_STORES = frozenset(
    {
        "pickle.dump",
        "marshal.dump",
        "shelve.open",
        "dbm.open",
        "sqlite3.connect",
        "diskcache.Cache",
        "diskcache.FanoutCache",
        "diskcache.Index",
        "joblib.Memory",
        "joblib.dump",
    }
)
FILE_WRITERS = frozenset({"write_text", "write_bytes"})  # pathlib.Path methods

# Container methods that store their arguments in the container they are called on ...
MUTATORS = frozenset(
    {
        "setdefault",
        "add",
        "append",
        "extend",
        "insert",
        "update",
        "appendleft",
        "extendleft",
        "__setitem__",
    }
)
# ... and functions that store into their first argument.
STORE_FIRST = frozenset(
    {
        "heapq.heappush",
        "heapq.heappushpop",
        "heapq.heapreplace",
        "bisect.insort",
        "bisect.insort_left",
        "bisect.insort_right",
    }
)

_TIMERS = ("perf_counter", "monotonic", "process_time", "thread_time", "time", "clock_gettime")
_STACK = (
    "sys._getframe",
    "sys._current_frames",
    "inspect.stack",
    "inspect.currentframe",
    "inspect.getouterframes",
    "inspect.getframeinfo",
    "inspect.trace",
    "traceback.extract_stack",
    "traceback.walk_stack",
    "traceback.format_stack",
)
_TRACING = (
    "sys.settrace",
    "sys.setprofile",
    "sys.monitoring",
    "threading.settrace",
    "threading.setprofile",
)
# A name here, or anything below it (``timeit.default_timer``), and why it is suspect in
# code that should only compute: it can tell a measured run from another.
INTROSPECTION: dict[str, str] = {
    **{f"time.{timer}{ns}": "timing" for timer in _TIMERS for ns in ("", "_ns")},
    "timeit": "timing",
    "resource.getrusage": "timing",
    "os.times": "timing",
    **dict.fromkeys(_STACK, "stack inspection"),
    **dict.fromkeys(_TRACING, "tracing hooks"),
    "sys.argv": "the command line",
    "sys.orig_argv": "the command line",
    "__main__": "the running script",
}
# Attributes that only frames and other modules have.
FRAME_ATTRS = {
    **dict.fromkeys(("f_back", "f_globals", "f_locals", "f_code", "co_filename"), "frames"),
    **dict.fromkeys(("gi_frame", "tb_frame"), "frames"),
    "__file__": "another module's file",
}
# Looked up in sys.modules: who is running us.
WATCHED_MODULES = {
    "__main__": "the running script",
    "pytest": "a test run",
    "_pytest": "a test run",
}
TEST_VARIABLES = frozenset({"PYTEST_CURRENT_TEST", "PYTEST_VERSION", "PYTEST_XDIST_WORKER"})

EQUALITY = (ast.Eq, ast.NotEq, ast.Is, ast.IsNot)
MEMBERSHIP = (ast.In, ast.NotIn)
