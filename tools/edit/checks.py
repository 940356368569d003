"""The last stages of applying edits: syntax, no-op detection, writing, the diff."""

from __future__ import annotations

import ast
import contextlib
import difflib
import os
import tempfile
import warnings
from pathlib import Path

import libcst as cst

from perfagent.tools.edit.errors import BlockFailure
from perfagent.tools.edit.model import AppliedBlock
from perfagent.tools.edit.text import FileText, numbered, split_lines

Change = tuple[str, FileText | None, str]  # (relative path, original or None, new text)


def syntax_problem(text: str, filename: str) -> tuple[int, str] | None:
    """``(line, message)`` if ``text`` is not valid Python for ``compile()`` or libcst."""
    try:
        with warnings.catch_warnings():  # e.g. "invalid escape sequence": not our business
            warnings.simplefilter("ignore")
            compile(text, filename, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return exc.lineno or 1, exc.msg
    except ValueError as exc:  # null bytes
        return 1, str(exc)
    try:
        cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        return exc.raw_line, exc.message
    return None


def syntax_failures(
    changed: list[tuple[str, str, list[int]]], applied: list[AppliedBlock]
) -> list[BlockFailure]:
    """A failure for each changed Python file (path, text, blocks) that does not parse,
    charged to the last block that changed it, with the lines around the error."""
    failures = []
    for rel, text, blocks in changed:
        if not rel.endswith((".py", ".pyi")):
            continue
        problem = syntax_problem(text, rel)
        if problem is None:
            continue
        line, message = problem
        last = next((a for a in reversed(applied) if a.path == rel), None)
        excerpt = numbered(split_lines(text), line - 4, line + 3, marked=range(line - 1, line))
        failures.append(
            BlockFailure(
                "syntax error",
                f"after the edit, line {line}: {message}",
                path=rel,
                block=last.block if last else None,
                label=last.label if last else "",
                excerpt=f"{rel} as edited, around line {line}:\n{excerpt}",
                hint=f"block(s) {', '.join(map(str, blocks))} changed this file;"
                " fix them so the file parses",
            )
        )
    return failures


def formatting_only(old: str, new: str, filename: str) -> bool:
    """Whether ``new`` differs from ``old`` only in whitespace or comments: the same AST for
    Python (formatting, comments, parentheses), the same non-blank characters otherwise."""
    if filename.endswith((".py", ".pyi")):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return ast.dump(ast.parse(old)) == ast.dump(ast.parse(new))
        except (SyntaxError, ValueError):
            pass  # the original did not parse: compare characters
    return "".join(old.split()) == "".join(new.split())


def file_diff(path: str, old: str | None, new: str) -> str:
    """The one diff writer: a git-style unified diff of one file (what ``git apply`` and
    ``measure`` take); ``old`` None creates the file. Lines without a final newline get git's
    marker, or the last line would run into the next one."""
    lines = difflib.unified_diff(
        (old or "").splitlines(keepends=True),
        new.splitlines(keepends=True),
        "/dev/null" if old is None else f"a/{path}",
        f"b/{path}",
    )
    body = "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )
    if not body:
        return ""
    mode = "new file mode 100644\n" if old is None else ""
    return f"diff --git a/{path} b/{path}\n{mode}{body}"


def unified_diff(changes: list[Change]) -> str:
    """Every change as ``file_diff``s of the bytes as written (CRLF and BOM kept)."""
    out = []
    for rel, original, text in changes:
        old = None if original is None else original.encode(original.text).decode("utf-8")
        new = (original or FileText("")).encode(text).decode("utf-8")
        out.append(file_diff(rel, old, new))
    return "".join(out)


def write_all(root: Path, changes: list[Change]) -> None:
    """Write every change or none: temp files beside the targets, then renames; if a rename
    fails, the files already replaced are restored and new ones removed."""
    staged: list[tuple[Path, Path, FileText | None]] = []
    made_dirs: list[Path] = []
    try:
        for rel, original, text in changes:
            target = root / rel
            missing = [p for p in [target.parent, *target.parent.parents] if not p.exists()]
            target.parent.mkdir(parents=True, exist_ok=True)
            made_dirs += reversed(missing)
            data = (original or FileText("")).encode(text)
            fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            staged.append((Path(name), target, original))
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            mode = target.stat().st_mode & 0o7777 if target.exists() else 0o644
            os.chmod(name, mode)
    except BaseException:
        _discard(staged, made_dirs)
        raise
    done: list[tuple[Path, FileText | None]] = []
    try:
        for tmp, target, original in staged:
            os.replace(tmp, target)
            done.append((target, original))
    except BaseException:
        for target, original in reversed(done):
            if original is None:
                target.unlink(missing_ok=True)
            else:
                target.write_bytes(original.encode(original.text))
        _discard(staged, made_dirs)
        raise


def _discard(staged: list[tuple[Path, Path, FileText | None]], made_dirs: list[Path]) -> None:
    for tmp, _, _ in staged:
        tmp.unlink(missing_ok=True)
    for directory in reversed(made_dirs):
        with contextlib.suppress(OSError):
            directory.rmdir()
