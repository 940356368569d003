"""Read-only tools a model may call while proposing: code, search, callers, profile detail.

They read the request's tree and profile only, never write, and refuse any path that leaves
the tree (``..``, absolute paths, symlinks pointing out). Every answer is plain text capped at
``OUTPUT_LIMIT`` characters; a mistake (unknown function, bad regex, missing argument) is
answered in words so the model can correct itself, never raised.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from perfagent.agent.models.base import ToolCall, ToolSpec
from perfagent.tools.edit import EditError, enclosing_function, find_function, function_context
from perfagent.tools.edit.locate import iter_python_files, normalize_qualname
from perfagent.tools.profile import Hotspot

OUTPUT_LIMIT = 6000
MAX_MATCHES = 60
MAX_LINE = 240  # characters of a matched line shown (and searched: minified code is long)
BUDGET_EXHAUSTED = "tool budget exhausted, propose now"

_QUALNAME = {
    "type": "object",
    "properties": {
        "qualname": {
            "type": "string",
            "description": "A qualified name (Class.method) or path/to/file.py::Class.method",
        }
    },
    "required": ["qualname"],
}
_PATTERN = {
    "type": "object",
    "properties": {"pattern": {"type": "string", "description": "A Python regex"}},
    "required": ["pattern"],
}
TOOL_SPECS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "read_function",
        "The source of a function in the repository, with its file's imports and the"
        " repository functions it calls.",
        _QUALNAME,
    ),
    ToolSpec(
        "search_repo",
        "Lines of the repository's .py files matching a Python regular expression"
        " (path:line: text).",
        _PATTERN,
    ),
    ToolSpec(
        "show_callers",
        "Where a function is called from: profiled call stacks and call sites in the code.",
        _QUALNAME,
    ),
    ToolSpec(
        "profile_detail",
        "A function's share of the profile (inclusive and self), its hottest lines and where"
        " its time goes.",
        _QUALNAME,
    ),
    ToolSpec(
        "profile_function",
        "A profiled function's source, every line with its share of the visible workload's"
        " samples (with callees, and its own cost), from the latest profile.",
        _QUALNAME,
    ),
)

Frame = tuple[str, str, int]  # name, file, line
_NESTED_QUANTIFIER = re.compile(r"\([^()]*[+*}][^()]*\)\s*[+*{]")
_COLLAPSED_FRAME = re.compile(r"^(?P<name>.*?) \((?P<file>.*):(?P<line>\d+)\)$")


def _cap(text: str) -> str:
    if len(text) <= OUTPUT_LIMIT:
        return text
    return text[: OUTPUT_LIMIT - 40].rsplit("\n", 1)[0] + "\n… (output cut to fit)"


class RepoTools:
    def __init__(self, tree: Path, hotspots: Sequence[Hotspot], detail: Mapping[str, Any]) -> None:
        self.tree = tree.resolve()
        self.hotspots = list(hotspots)
        self.detail = detail
        self._suffixes: dict[str, str | None] = {}

    def run(self, call: ToolCall) -> str:
        handlers = {
            "read_function": self.read_function,
            "search_repo": self.search_repo,
            "show_callers": self.show_callers,
            "profile_detail": self.profile_detail,
            "profile_function": self.profile_function,
        }
        if call.name not in handlers:
            return f"unknown tool {call.name!r}; the tools are {', '.join(handlers)}"
        wanted = "pattern" if call.name == "search_repo" else "qualname"
        value = call.arguments.get(wanted)
        if not isinstance(value, str) or not value.strip():
            got = call.arguments.get("_raw", call.arguments)
            return f"{call.name} needs a JSON object with a string {wanted!r}; got {got!r}"
        return _cap(handlers[call.name](value.strip()))

    # -- paths ---------------------------------------------------------------------------
    def _inside(self, path: Path) -> bool:
        try:
            path.resolve().relative_to(self.tree)
        except (ValueError, OSError):
            return False
        return True

    def _refused(self, target: str) -> str | None:
        if "::" not in target:
            return None
        rel = target.split("::", 1)[0].strip()
        if Path(rel).is_absolute() or not self._inside(self.tree / rel):
            return f"refused: {rel} is outside the repository"
        return None

    def _files(self) -> Iterator[tuple[str, Path]]:
        for path in iter_python_files(self.tree):
            if self._inside(path):
                yield path.relative_to(self.tree).as_posix(), path

    # -- tools ---------------------------------------------------------------------------
    def read_function(self, qualname: str) -> str:
        refused = self._refused(qualname)
        if refused:
            return refused
        try:
            return function_context(self.tree, qualname).render()
        except EditError as exc:
            return "\n".join(f.describe() for f in exc.failures)

    def search_repo(self, pattern: str) -> str:
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            return f"invalid regular expression {pattern!r}: {exc}"
        if _NESTED_QUANTIFIER.search(pattern):
            # Python's re has no timeout; (a+)+ can backtrack for longer than the whole run.
            return f"refused: {pattern!r} nests quantifiers like (a+)+; simplify the pattern"
        hits: list[str] = []
        total = 0
        for rel, path in self._files():
            try:
                lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                continue
            for number, line in enumerate(lines, 1):
                if regex.search(line[:MAX_LINE]):
                    total += 1
                    if len(hits) < MAX_MATCHES:
                        hits.append(f"{rel}:{number}: {line[:MAX_LINE].rstrip()}")
        if not hits:
            return f"no line matches {pattern!r}"
        more = f"\n({total - len(hits)} more matches not shown)" if total > len(hits) else ""
        return "\n".join(hits) + more

    def _locate(self, qualname: str) -> tuple[str | None, str]:
        """(repo-relative file or None, qualname) of a function named by the model."""
        try:
            info = find_function(self.tree, qualname)
        except EditError:
            rel = qualname.split("::", 1)[0] if "::" in qualname else None
            return rel, normalize_qualname(qualname.split("::")[-1])
        assert info.path is not None
        return Path(info.path).as_posix(), info.qualname

    def show_callers(self, qualname: str) -> str:
        refused = self._refused(qualname)
        if refused:
            return refused
        rel, qual = self._locate(qualname)
        name = qual.rsplit(".", 1)[-1]
        out: list[str] = []
        callers, total = self._neighbours(rel, qual, before=True)
        if callers:
            out.append(f"Callers in the profiled stacks ({total} samples through {qual}):")
            out += [f"  {n / total:6.1%} {frame}" for frame, n in callers.most_common(10)]
        call = re.compile(rf"\b{re.escape(name)}\s*\(")
        definition = re.compile(rf"\s*(?:async\s+)?def\s+{re.escape(name)}\b")
        sites: list[str] = []
        for file, path in self._files():
            try:
                lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                continue
            for number, line in enumerate(lines, 1):
                if call.search(line[:MAX_LINE]) and not definition.match(line):
                    where = enclosing_function(path, number)
                    inside = where.qualname if where else "<module>"
                    sites.append(f"  {file}:{number} in {inside}: {line.strip()[:MAX_LINE]}")
        if sites:
            out.append(f"Call sites of {name}(...) in the code:")
            out += sites[:MAX_MATCHES]
            if len(sites) > MAX_MATCHES:
                out.append(f"  ({len(sites) - MAX_MATCHES} more not shown)")
        return "\n".join(out) if out else f"no callers of {qual} found"

    def profile_detail(self, qualname: str) -> str:
        refused = self._refused(qualname)
        if refused:
            return refused
        spot = self._hotspot(qualname)
        if spot is None:
            top = ", ".join(s.qualname for s in self.hotspots[:5]) or "none"
            return (
                f"{qualname} is not among the profiled repository functions (its share is too"
                f" small to measure, or it did not run). The hottest are: {top}"
            )
        out = [
            f"{spot.file}::{spot.qualname} (lines {spot.lines[0]}-{spot.lines[1]}): inclusive"
            f" {spot.inclusive:.1%}, self {spot.self:.1%}, savable {spot.savable:.1%} of the"
            " workload's samples" + (" (a pass-through frame)" if spot.passthrough else "")
        ]
        if len(spot.call_path) > 1:
            path = " → ".join(["workload", *spot.call_path])
            out.append(f"Reached through {path} ({spot.call_path_share:.1%})")
        if spot.hot_lines:
            source = self._lines(spot.file)
            out.append("Hottest lines (share of all samples):")
            for line, share in spot.hot_lines[:8]:
                text = source[line - 1].strip() if 0 < line <= len(source) else ""
                out.append(f"  L{line} {share:6.1%}  {text[:MAX_LINE]}")
        callees, total = self._neighbours(spot.file, spot.qualname, before=False)
        if callees:
            out.append("Where its time goes (next frame down, share of its samples):")
            out += [f"  {n / total:6.1%} {frame}" for frame, n in callees.most_common(10)]
        return "\n".join(out)

    def profile_function(self, qualname: str) -> str:
        refused = self._refused(qualname)
        if refused:
            return refused
        spot = self._hotspot(qualname)
        if spot is None or spot.lines == (0, 0):
            return self.profile_detail(qualname)  # says why it is not profiled
        source = self._lines(spot.file)
        total = dict(spot.hot_lines)
        own = dict(spot.savable_lines)
        out = [
            f"{spot.file}::{spot.qualname}: share of all samples per line"
            " (with callees / own cost; blank: not sampled)"
        ]
        first, last = spot.lines
        for number in range(first, min(last, len(source)) + 1):
            shares = (
                f"{total.get(number, 0.0):6.1%} {own.get(number, 0.0):6.1%}"
                if number in total or number in own
                else " " * 13
            )
            out.append(f"{shares} L{number:<5} {source[number - 1][:MAX_LINE]}")
        return "\n".join(out)

    # -- profile -------------------------------------------------------------------------
    def _hotspot(self, qualname: str) -> Hotspot | None:
        file, _, qual = qualname.rpartition("::")
        wanted = normalize_qualname(qual)
        for exact in (True, False):
            for spot in self.hotspots:
                have = normalize_qualname(spot.qualname)
                if file and spot.file != file:
                    continue
                if have == wanted if exact else have.endswith("." + wanted):
                    return spot
        return None

    def _lines(self, rel: str) -> list[str]:
        path = self.tree / rel
        if not self._inside(path) or not path.is_file():
            return []
        return path.read_text(encoding="utf-8", errors="replace").splitlines()

    def _stacks(self) -> Iterator[tuple[list[Frame], int]]:
        for stack in self.detail.get("stacks") or ():
            try:
                frames = [(str(f["name"]), str(f["file"]), int(f["line"])) for f in stack["frames"]]
                yield frames, int(stack["count"])
            except (KeyError, TypeError, ValueError):
                continue
        for row in self.detail.get("collapsed") or ():
            body, _, count = str(row).rpartition(" ")
            parsed = [_COLLAPSED_FRAME.match(part) for part in body.split(";")]
            if count.isdigit() and all(parsed):
                yield [(m["name"], m["file"], int(m["line"])) for m in parsed if m], int(count)

    def _repo_rel(self, file: str) -> str | None:
        """A profiled file (absolute, in some checkout of the repo) as a path in the tree."""
        if file not in self._suffixes:
            parts = Path(file).parts
            self._suffixes[file] = next(
                (
                    Path(*parts[i:]).as_posix()
                    for i in range(1, len(parts))
                    if (self.tree / Path(*parts[i:])).is_file()
                ),
                None,
            )
        return self._suffixes[file]

    def _describe(self, frame: Frame) -> str:
        rel = self._repo_rel(frame[1])
        return f"{frame[0]} ({rel or Path(frame[1]).name}:{frame[2]})"

    def _neighbours(
        self, rel: str | None, qualname: str, *, before: bool
    ) -> tuple[Counter[str], int]:
        """Frames just above (callers) or below (callees) the function, weighted by samples."""
        name = qualname.rsplit(".", 1)[-1]
        found: Counter[str] = Counter()
        total = 0
        for frames, count in self._stacks():
            for i, frame in enumerate(frames):
                short = frame[0].rsplit(".", 1)[-1]
                same_file = rel is None or self._repo_rel(frame[1]) == rel
                if short == name and same_file:
                    total += count
                    j = i - 1 if before else i + 1
                    if 0 <= j < len(frames):
                        found[self._describe(frames[j])] += count
                    break
        return found, total
