"""Files that run before, or instead of, what the harness imports: the timer-integrity rule.

A candidate must not add code the interpreter runs on its own. ``sitecustomize.py`` and
``usercustomize.py`` run at start-up wherever they are on the path, a ``*.pth`` file runs in a
site directory, and a new top-level module named like a standard-library module (or like
perfagent's child modules, ``_perfagent_*``) is imported in its place once the tree leads the
path. Any of these could patch the clock or the harness before a timed call. A module of that
name the repository already has is its own code and may be edited (base imports it too).
"""

from __future__ import annotations

import sys
from pathlib import Path, PurePosixPath

_HOOKS = frozenset({"sitecustomize.py", "usercustomize.py"})
# Folders the variant's tree puts on the import path (``tools/pyenv.py``).
_IMPORT_ROOTS = ((), ("src",))


def _top_level_modules(path: PurePosixPath) -> list[tuple[str, tuple[str, ...]]]:
    """(importable top-level name, its file or folder's parts) ``path`` provides, for each
    import root it lies in."""
    found = []
    parts = path.parts
    for root in _IMPORT_ROOTS:
        if parts[: len(root)] != root or len(parts) <= len(root):
            continue
        rest = parts[len(root) :]
        if len(rest) > 1:  # a package folder (or a namespace package)
            found.append((rest[0], (*root, rest[0])))
        elif rest[0].endswith((".py", ".pyw", ".so", ".pyd")):
            found.append((rest[0].split(".", 1)[0], parts))
    return found


def start_up_problem(path: str, tree_before: Path) -> str:
    """Why a diff may not write ``path`` (repo-relative) in ``tree_before``, or "" when it
    may."""
    pure = PurePosixPath(path)
    if pure.name in _HOOKS:
        return f"is {pure.name}: code the interpreter runs at start-up, before the clock"
    if pure.suffix == ".pth":
        return "is a .pth file: a site directory runs it at start-up, before the clock"
    for name, owner in _top_level_modules(pure):
        if name.startswith("_perfagent"):
            return f"shadows perfagent's harness module {name!r}"
        existed = tree_before.joinpath(*owner).exists()
        if name in sys.stdlib_module_names and not existed:
            return f"adds a module that shadows the standard library's {name!r}"
    return ""
