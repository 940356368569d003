"""Where functions are: by line (for the profiler) and by name (for edits and prompts).

Qualified names follow Python's ``__qualname__`` (which is also ``co_qualname`` in 3.11, what a
profiler sees): ``Class.method``, ``outer.<locals>.inner``, ``f.<locals>.Local.method``.
Lookups by name also accept the shorter ``outer.inner``. Line numbers are 1-based and
inclusive; a function's range starts at its first decorator and ends at its last line of code
or at a comment indented into its body after that.
"""

from __future__ import annotations

import difflib
import os
import re
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from perfagent.tools.edit.errors import BlockFailure, EditError
from perfagent.tools.edit.text import normalize_newlines


@dataclass(frozen=True)
class FunctionInfo:
    qualname: str
    name: str
    start_line: int  # first decorator, or the ``def`` line
    end_line: int
    def_line: int
    is_method: bool  # defined directly in a class body
    is_async: bool
    class_qualname: str | None = None  # the class it is a method of
    path: Path | None = None


@dataclass(frozen=True)
class ClassInfo:
    qualname: str
    start_line: int
    end_line: int
    node: cst.ClassDef


@dataclass(frozen=True)
class Found:
    """A function with its libcst node (from ``scan``'s module), for the edit stages."""

    info: FunctionInfo
    node: cst.FunctionDef


@dataclass(frozen=True)
class Scan:
    module: cst.Module
    functions: list[Found]
    classes: list[ClassInfo]
    source: str
    positions: Mapping[cst.CSTNode, CodeRange]


def normalize_qualname(qualname: str) -> str:
    """``outer.<locals>.inner`` → ``outer.inner``, for lenient comparison."""
    return qualname.replace(".<locals>.", ".").replace("<locals>.", "")


@dataclass
class _Open:
    """A function or class being visited; ``end`` grows with comments inside its body."""

    node: cst.FunctionDef | cst.ClassDef
    qualname: str
    end: int
    in_body: bool = False


class _Collector(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, path: Path | None) -> None:
        super().__init__()
        self.path = path
        self.stack: list[_Open] = []
        self.functions: list[Found] = []
        self.classes: list[ClassInfo] = []

    def _prefix(self) -> str:
        if not self.stack:
            return ""
        top = self.stack[-1]
        return top.qualname + ("." if isinstance(top.node, cst.ClassDef) else ".<locals>.")

    def _open(self, node: cst.FunctionDef | cst.ClassDef) -> None:
        end = self.get_metadata(PositionProvider, node).end.line
        self.stack.append(_Open(node, self._prefix() + node.name.value, end))

    def _close(self) -> tuple[_Open, int]:
        done = self.stack.pop()
        first = done.node.decorators[0] if done.node.decorators else done.node
        return done, self.get_metadata(PositionProvider, first).start.line

    # A comment after a body's last statement (indented into it) belongs to the body: libcst
    # keeps it in the block's footer, outside the node's position range.
    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        if self.stack and self.stack[-1].node.body is node:
            self.stack[-1].in_body = True

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock) -> None:
        if self.stack and self.stack[-1].node.body is original_node:
            self.stack[-1].in_body = False

    def visit_EmptyLine(self, node: cst.EmptyLine) -> None:
        if node.comment is not None:
            line = self.get_metadata(PositionProvider, node).start.line
            for scope in self.stack:
                if scope.in_body:
                    scope.end = max(scope.end, line)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._open(node)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        done, start = self._close()
        assert isinstance(done.node, cst.ClassDef)
        self.classes.append(ClassInfo(done.qualname, start, done.end, done.node))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._open(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        done, start = self._close()
        node = done.node
        assert isinstance(node, cst.FunctionDef)
        parent = self.stack[-1].node if self.stack else None
        in_class = isinstance(parent, cst.ClassDef)
        info = FunctionInfo(
            qualname=done.qualname,
            name=node.name.value,
            start_line=start,
            end_line=done.end,
            def_line=self.get_metadata(PositionProvider, node).start.line,
            is_method=in_class,
            is_async=node.asynchronous is not None,
            class_qualname=self.stack[-1].qualname if in_class else None,
            path=self.path,
        )
        self.functions.append(Found(info, node))


def scan(source: str, path: Path | None = None) -> Scan:
    """Parse ``source`` (raises ``cst.ParserSyntaxError``) and list its functions and classes."""
    wrapper = MetadataWrapper(cst.parse_module(source), unsafe_skip_copy=True)
    collector = _Collector(path)
    wrapper.visit(collector)
    functions = sorted(collector.functions, key=lambda f: f.info.start_line)
    positions = wrapper.resolve(PositionProvider)
    return Scan(wrapper.module, functions, collector.classes, source, positions)


def read_source(path: Path) -> str:
    return normalize_newlines(path.read_bytes().decode("utf-8-sig"))


def _syntax_failure(path: Path | str | None, exc: cst.ParserSyntaxError) -> EditError:
    return EditError(
        [
            BlockFailure(
                "syntax error",
                f"line {exc.raw_line}: {exc.message}",
                path=str(path) if path is not None else None,
            )
        ]
    )


def functions_in(path_or_source: str | os.PathLike[str]) -> list[FunctionInfo]:
    """Every function and method, in source order.

    A ``Path`` (or a one-line ``str`` naming an existing ``.py`` file) is read; any other
    ``str`` is the source itself. Raises ``EditError`` if it does not parse.
    """
    if isinstance(path_or_source, str) and not _names_file(path_or_source):
        path, source = None, normalize_newlines(path_or_source)
    else:
        path = Path(path_or_source)
        source = read_source(path)
    try:
        return [f.info for f in scan(source, path).functions]
    except cst.ParserSyntaxError as exc:
        raise _syntax_failure(path, exc) from None


def _names_file(text: str) -> bool:
    return "\n" not in text and text.strip().endswith(".py") and Path(text.strip()).is_file()


@dataclass(frozen=True)
class _LineIndex:
    """A file's functions and, per line (index 0 is line 1), the innermost one's index."""

    functions: tuple[FunctionInfo, ...]
    innermost: tuple[int, ...]

    @classmethod
    def build(cls, functions: tuple[FunctionInfo, ...]) -> _LineIndex:
        size = max((f.end_line for f in functions), default=0)
        innermost = [-1] * size
        for i, info in enumerate(functions):  # sorted by start: inner ones overwrite outer
            innermost[info.start_line - 1 : info.end_line] = [i] * (
                info.end_line - info.start_line + 1
            )
        return cls(functions, tuple(innermost))


# Parses keyed by (path as given, mtime_ns, size, inode): the profiler asks about the same
# few files thousands of times, so a hit costs one stat(); the inode catches a file replaced
# by rename (as apply_edits writes) within the mtime's granularity. Bounded, so a long
# session does not hold every file it ever saw.
_CACHE: OrderedDict[tuple[str, int, int, int], _LineIndex] = OrderedDict()
_CACHE_SIZE = 512


def _line_index(path: str) -> _LineIndex:
    stat = os.stat(path)
    key = (path, stat.st_mtime_ns, stat.st_size, stat.st_ino)
    hit = _CACHE.get(key)
    if hit is not None:
        _CACHE.move_to_end(key)
        return hit
    resolved = Path(path).resolve()
    try:
        found = tuple(f.info for f in scan(read_source(resolved), resolved).functions)
    except (cst.ParserSyntaxError, UnicodeDecodeError):
        found = ()  # not our kind of Python (or not text): no function encloses anything
    index = _CACHE[key] = _LineIndex.build(found)
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return index


def clear_cache() -> None:
    _CACHE.clear()


def cached_functions(path: str | os.PathLike[str]) -> tuple[FunctionInfo, ...]:
    """Every function of the file at ``path``, in source order, from the same cache as
    :func:`enclosing_function` (empty for a file that cannot be read or parsed)."""
    try:
        return _line_index(os.fspath(path)).functions
    except OSError:
        return ()


def enclosing_function(path: str | os.PathLike[str], line: int) -> FunctionInfo | None:
    """The innermost function whose range holds ``line`` (its ``path`` is the resolved file);
    ``None`` at module level, and for files that cannot be read or parsed (profiles include
    library and generated code). Parses are cached per file, size and mtime."""
    try:
        index = _line_index(os.fspath(path))
    except OSError:
        return None
    at = index.innermost[line - 1] if 0 < line <= len(index.innermost) else -1
    return index.functions[at] if at >= 0 else None


_SKIP_DIRS = {
    ".git", ".hg", ".svn", "__pycache__", ".venv", "venv", ".tox", ".nox", "node_modules",
    "build", "dist", "site-packages", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".eggs",
    ".hypothesis",
}  # fmt: skip


def iter_python_files(repo_root: Path) -> Iterator[Path]:
    """The repo's ``.py`` files, sorted, skipping VCS, caches, venvs and build output."""
    for dirpath, dirnames, filenames in os.walk(repo_root):
        dirnames[:] = sorted(
            d for d in dirnames if d not in _SKIP_DIRS and not d.endswith(".egg-info")
        )
        for name in sorted(filenames):
            if name.endswith(".py"):
                yield Path(dirpath) / name


def _not_found(target: str, detail: str, names: list[str], hint: str) -> EditError:
    excerpt = ""
    if names:
        excerpt = "Closest names:\n" + "\n".join(f"  {n}" for n in names)
    return EditError([BlockFailure("not found", detail, label=target, excerpt=excerpt, hint=hint)])


def _file_functions(repo_root: Path, path: Path) -> list[FunctionInfo]:
    try:
        source = read_source(path)
        return [f.info for f in scan(source, path.relative_to(repo_root)).functions]
    except (cst.ParserSyntaxError, UnicodeDecodeError, OSError):
        return []


def find_function(repo_root: str | os.PathLike[str], target: str) -> FunctionInfo:
    """The function named by ``target``: ``"pkg/mod.py::Class.method"`` or a qualified name
    searched in every ``.py`` file (an exact qualname first, then a unique dotted suffix, so
    ``method`` finds ``Class.method``). ``info.path`` is relative to ``repo_root``.

    Raises ``EditError`` ("not found" with the closest names, or "ambiguous" with all
    candidates).
    """
    root = Path(repo_root)
    target = target.strip().strip("`")
    if "::" in target:
        rel, qualname = target.split("::", 1)
        path = root / rel.strip().replace("\\", "/").removeprefix("./")
        if not path.is_file():
            files = [p.relative_to(root).as_posix() for p in iter_python_files(root)]
            close = difflib.get_close_matches(rel, files, n=5, cutoff=0.5)
            raise _not_found(target, f"no file {rel}", close, "name a file that exists")
        candidates = _file_functions(root, path)
    else:
        qualname = target
        last = re.escape(normalize_qualname(qualname).rsplit(".", 1)[-1])
        pattern = re.compile(rf"^\s*(?:async\s+)?def\s+{last}\b", re.M)
        candidates = []
        for path in iter_python_files(root):
            try:
                if pattern.search(path.read_text(encoding="utf-8", errors="replace")):
                    candidates += _file_functions(root, path)
            except OSError:
                continue
    wanted = normalize_qualname(qualname.strip())
    hits = [f for f in candidates if normalize_qualname(f.qualname) == wanted]
    if not hits:
        hits = [f for f in candidates if normalize_qualname(f.qualname).endswith("." + wanted)]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        listing = "\n".join(f"  {f.path}::{f.qualname} (line {f.start_line})" for f in hits)
        raise EditError(
            [
                BlockFailure(
                    "ambiguous",
                    f"{len(hits)} functions match {qualname!r}",
                    label=target,
                    excerpt="Candidates:\n" + listing,
                    hint="name one as path/to/file.py::Qualified.name",
                )
            ]
        )
    if "::" in target:
        pool = [(f.qualname, f.qualname) for f in candidates]
        where = f"in {target.split('::', 1)[0]}"
    else:
        pool = _qualnames_like(root, wanted)
        where = "in the repository"
    close = _closest(wanted, pool)
    raise _not_found(target, f"no function {qualname!r} {where}", close, "use one of these names")


def _closest(wanted: str, pool: list[tuple[str, str]], n: int = 5) -> list[str]:
    """Display strings of the ``(qualname, display)`` pairs whose qualname is most like
    ``wanted``."""
    scored = []
    for qualname, display in pool:
        ratio = difflib.SequenceMatcher(None, wanted, normalize_qualname(qualname)).ratio()
        if ratio >= 0.5:
            scored.append((-ratio, display))
    return [display for _, display in sorted(scored)[:n]]


def _qualnames_like(root: Path, wanted: str) -> list[tuple[str, str]]:
    """``(qualname, "path::qualname")`` for files defining a name close to the wanted one's
    last part: found by regex first, so only a few files are parsed."""
    last = wanted.rsplit(".", 1)[-1]
    def_re = re.compile(r"^\s*(?:async\s+)?def\s+(\w+)", re.M)
    pool: list[tuple[str, str]] = []
    for path in iter_python_files(root):
        try:
            names = def_re.findall(path.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
        if difflib.get_close_matches(last, names, n=1, cutoff=0.6):
            rel = path.relative_to(root).as_posix()
            pool += [(f.qualname, f"{rel}::{f.qualname}") for f in _file_functions(root, path)]
    return pool
