"""Secrets out of the process environment once read.

``os.environ.pop`` is not enough: ``unsetenv`` only drops the pointer, and the original
``NAME=value`` bytes stay in the process's initial environment block, which any process of
the same user reads as ``/proc/<pid>/environ``. So the value is overwritten in place first
(``getenv`` points into that block for variables the process started with), then unset.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Iterable
from functools import cache


@cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    libc = ctypes.CDLL(name)
    libc.getenv.restype = ctypes.c_void_p
    libc.getenv.argtypes = [ctypes.c_char_p]
    return libc


def forget_env(names: Iterable[str]) -> None:
    """Remove ``names`` from ``os.environ``, their values wiped from the environment block."""
    libc = _libc()
    for name in names:
        value = os.environb.get(name.encode())
        if value is None:
            continue
        if libc is not None:
            address = libc.getenv(name.encode())
            if address:  # the C string of exactly len(value) bytes the process holds
                ctypes.memset(address, 0, len(value))
        os.environ.pop(name, None)
