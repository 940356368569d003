"""Applying edits: a dry run of every block in memory, checks, then all files written at once.

Stages: each block is applied to an in-memory copy of its file (a failing block is recorded
and the rest still tried, so one answer can explain every failure); then each changed Python
file must parse with libcst and ``compile()``; then the whole set must change more than
whitespace and comments (else "no-op edit", unless ``allow_noop``); only then are files
written, each to a temp file beside it and renamed into place, rolled back if a rename fails.
Any failure raises ``EditError`` and leaves the tree untouched.

Where a block's file is unsure (no name, a guessed or misspelt one), it is recovered from
content: the one file where its lines match (exactly, up to indentation). A file the model
named and that exists is taken at its word; when the lines are elsewhere, the feedback says
where. An empty SEARCH creates the file, or appends to it if it exists.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from perfagent.tools.edit.checks import formatting_only, syntax_failures, unified_diff, write_all
from perfagent.tools.edit.errors import BlockFailure, BlockProblem, EditError
from perfagent.tools.edit.locate import iter_python_files
from perfagent.tools.edit.match import find_matches, trim_blank_ends
from perfagent.tools.edit.model import (
    AppliedBlock,
    Edit,
    EditOutcome,
    FilePatch,
    FunctionRewrite,
    Hunk,
    SearchReplace,
)
from perfagent.tools.edit.paths import resolve
from perfagent.tools.edit.rewrite import rewrite_function
from perfagent.tools.edit.text import (
    FileText,
    closest_lines,
    join_lines,
    normalize_newlines,
    numbered,
    split_lines,
)
from perfagent.tools.edit.udiff import apply_hunk


@dataclass
class _File:
    rel: str
    original: FileText | None  # None: did not exist before these edits
    text: str
    exists: bool
    blocks: list[int] = field(default_factory=list)

    @property
    def lines(self) -> list[str]:
        return split_lines(self.text)

    def set_lines(self, lines: list[str]) -> None:
        self.text = join_lines(lines, trailing_newline=self.text.endswith("\n") or not self.text)


def _lines_of(text: str) -> list[str]:
    return split_lines(normalize_newlines(text))


class _DryRun:
    def __init__(self, root: Path, protected: Sequence[str]) -> None:
        self.root, self.protected = root, protected
        self.files: dict[str, _File] = {}
        self.applied: list[AppliedBlock] = []
        self.failures: list[BlockFailure] = []
        self.notes: list[str] = []
        self.block = 0
        self.where: str | None = None  # the current block's file, once known

    # -- files --------------------------------------------------------------------------
    def file(self, rel: str) -> _File:
        if rel not in self.files:
            path = self.root / rel
            if path.is_file():
                try:
                    original = FileText.decode(path.read_bytes())
                except UnicodeDecodeError:
                    raise BlockProblem("unreadable", f"{rel} is not UTF-8 text") from None
                self.files[rel] = _File(rel, original, original.text, exists=True)
            else:
                self.files[rel] = _File(rel, None, "", exists=False)
        return self.files[rel]

    def _exists(self, rel: str) -> bool:
        return self.files[rel].exists if rel in self.files else (self.root / rel).is_file()

    def _resolve(self, raw: str) -> str:
        rel = resolve(self.root, raw, self.protected)
        self.where = rel
        return rel

    def _repo_files(self) -> list[str]:
        found = [p.relative_to(self.root).as_posix() for p in iter_python_files(self.root)]
        return list(dict.fromkeys([*self.files, *found]))

    def _text_of(self, rel: str) -> str | None:
        """A file's current text, without loading it into the dry run."""
        if rel in self.files:
            return self.files[rel].text
        try:
            return FileText.decode((self.root / rel).read_bytes()).text
        except (OSError, UnicodeDecodeError):
            return None

    def _files_with(self, search: list[str], skip: str | None = None) -> list[str]:
        """Files (touched ones and the repo's ``.py`` files) where ``search`` matches strictly."""
        # Strict matching keeps each line's stripped text, so a substring test rules most
        # files out before any line is compared.
        probe = next(line.strip() for line in search if line.strip())
        found = []
        for rel in self._repo_files():
            text = self._text_of(rel) if rel != skip else None
            if text is None or probe not in text:
                continue
            if find_matches(split_lines(text), search, search, strict=True):
                found.append(rel)
        return found

    def _target_file(self, raw: str | None, search: list[str], trusted: bool) -> str:
        """The file for a block with these SEARCH (or hunk) lines; see the module docstring."""
        try:
            rel = self._resolve(raw) if raw else None
        except BlockProblem:
            if trusted:
                raise
            rel = None  # a guessed name (say, a test file mentioned in prose): use content
        named = rel is not None and self._exists(rel)
        if (
            rel is not None
            and named
            and (trusted or find_matches(self.file(rel).lines, search, search))
        ):
            return rel
        hits = self._files_with(search)
        if len(hits) == 1:
            self.notes.append(
                f"block {self.block}: applied to {hits[0]}, the one file containing its lines"
                + (f" (the output named {raw})" if raw else " (the output named no file)")
            )
            return self._resolve(hits[0])
        if rel is not None and self._exists(rel):
            return rel  # a guessed name that exists: fail there, with its closest lines
        if rel is not None:
            raise self._missing(rel)
        where = f"in {len(hits)} files ({', '.join(hits[:5])})" if hits else "in no file"
        raise BlockProblem(
            "file missing",
            f"the block names no file and its lines are {where}",
            hint="put the file's path on the line before the block",
        )

    def _not_found(self, f: _File, search: list[str], what: str) -> BlockProblem:
        close = closest_lines(f.lines, search)
        elsewhere = self._files_with(search, skip=f.rel)
        hint = "copy the lines exactly from the current file (they may have changed)"
        if len(elsewhere) == 1:
            hint = f"these lines are in {elsewhere[0]}; did you mean that file?"
        # Line numbers are those of the dry run's text, after any earlier block on this file.
        state = f" (after block {', '.join(map(str, f.blocks))})" if f.blocks else ""
        return BlockProblem(
            "not found",
            f"{what} not in {f.rel}",
            excerpt=f"The closest lines in {f.rel}{state}:\n{close}" if close else "",
            hint=hint,
        )

    # -- blocks -------------------------------------------------------------------------
    def run_block(self, label: str, raw: str | None, action: Callable[[], AppliedBlock]) -> None:
        self.block += 1
        self.where = raw
        try:
            applied = action()
        except BlockProblem as problem:
            self.failures.append(
                BlockFailure(
                    problem.reason,
                    problem.detail,
                    path=self.where,
                    block=self.block,
                    label=label,
                    excerpt=problem.excerpt,
                    hint=problem.hint,
                )
            )
            return
        self.applied.append(applied)
        self.files[applied.path].blocks.append(self.block)

    def search_replace(self, edit: SearchReplace) -> AppliedBlock:
        search, replace = trim_blank_ends(_lines_of(edit.search), _lines_of(edit.replace))
        if not any(line.strip() for line in search):
            replace = _lines_of(edit.replace)  # all of it: its blank lines are wanted here
            if edit.path is None:
                raise BlockProblem(
                    "malformed",
                    "a block with an empty SEARCH creates a file, but names none",
                    hint="put the new file's path on the line before the block",
                )
            f = self.file(self._resolve(edit.path))
            how = "append" if f.exists else "create"
            sep = "\n" if f.text and not f.text.endswith("\n") else ""
            at = len(f.lines) + 1
            f.text = f.text + sep + join_lines(replace)
            f.exists = True
            return AppliedBlock(self.block, f.rel, edit.label, how, at)
        f = self.file(self._target_file(edit.path, search, edit.path_source == "stated"))
        lines = f.lines
        matches = find_matches(lines, search, replace)
        if not matches:
            raise self._not_found(f, search, "the SEARCH lines are")
        if len(matches) > 1:
            shown = "\n\n".join(
                numbered(lines, m.start, m.end, marked=range(m.start, m.end)) for m in matches[:4]
            )
            raise BlockProblem(
                "ambiguous",
                f"the SEARCH lines match {len(matches)} places in {f.rel}"
                f" (lines {', '.join(str(m.start + 1) for m in matches)})",
                excerpt=f"The matches:\n{shown}",
                hint="add surrounding lines to SEARCH so it matches exactly one place",
            )
        match = matches[0]
        f.set_lines(lines[: match.start] + list(match.replacement) + lines[match.end :])
        return AppliedBlock(self.block, f.rel, edit.label, match.how, match.start + 1)

    def rewrite(self, edit: FunctionRewrite) -> AppliedBlock:
        rel = self._resolve(edit.path)
        if not self._exists(rel):
            raise self._missing(rel)
        f = self.file(rel)
        text, line = rewrite_function(f.text, edit.qualname, edit.new_source)
        f.text = text
        return AppliedBlock(self.block, rel, edit.label, "rewrite", line)

    def _missing(self, rel: str) -> BlockProblem:
        close = difflib.get_close_matches(rel, self._repo_files(), n=5, cutoff=0.5)
        listing = "\n".join(f"  {c}" for c in close)
        return BlockProblem(
            "file missing",
            f"{rel} does not exist",
            excerpt=f"Files with similar names:\n{listing}" if close else "",
            hint="name an existing file, relative to the repository root",
        )

    def patch(self, edit: FilePatch) -> None:
        if edit.new_path is None:
            self.run_block("delete file", edit.old_path, self._refuse_delete)
            return
        if edit.old_path is None:
            self.run_block(f"new file {edit.new_path}", edit.new_path, lambda: self._new_file(edit))
            return
        state: dict[str, str | int] = {"delta": 0}  # lines added by this patch's earlier hunks
        for hunk in edit.hunks:
            self.run_block(hunk.label, edit.new_path, partial(self._hunk, edit, hunk, state))

    def _hunk(self, edit: FilePatch, hunk: Hunk, state: dict[str, str | int]) -> AppliedBlock:
        search, _ = trim_blank_ends(hunk.old_lines, [])
        rel = state.get("rel")
        if not isinstance(rel, str):
            rel = state["rel"] = self._patch_file(edit, search)
        self.where = rel
        f = self.file(rel)
        delta = state["delta"]
        assert isinstance(delta, int)
        try:
            lines, match = apply_hunk(f.lines, hunk, delta)
        except BlockProblem as problem:
            if problem.reason == "not found":
                raise self._not_found(f, search, "the hunk's context and '-' lines are") from None
            raise
        state["delta"] = delta + len(match.replacement) - (match.end - match.start)
        f.set_lines(lines)
        return AppliedBlock(self.block, rel, hunk.label, match.how, match.start + 1)

    def _patch_file(self, edit: FilePatch, search: list[str]) -> str:
        """The diff's file: a header path (with or without ``a/``/``b/``) that exists, else
        the one file its first hunk's lines are in."""
        raws = [p for p in (edit.new_path, edit.old_path) if p is not None]
        stripped = [p[2:] for p in raws if p[:2] in ("a/", "b/")]
        for raw in dict.fromkeys([*raws, *stripped]):
            rel = self._resolve(raw)
            if self._exists(rel):
                return rel
        return self._target_file((stripped or raws)[0], search, trusted=True)

    def _new_file(self, edit: FilePatch) -> AppliedBlock:
        assert edit.new_path is not None
        f = self.file(self._resolve(edit.new_path))
        if f.exists and f.text.strip():
            raise BlockProblem(
                "file exists",
                f"the diff creates {f.rel} (--- /dev/null), which already exists",
                hint="diff against the file's current content instead",
            )
        lines = [line for hunk in edit.hunks for line in hunk.new_lines]
        f.text, f.exists = join_lines(lines), True
        return AppliedBlock(self.block, f.rel, f"new file {f.rel}", "new file", 1)

    def _refuse_delete(self) -> AppliedBlock:
        raise BlockProblem("unsupported", "deleting files is not supported")


def apply_edits(
    repo_root: str | Path,
    edits: Sequence[Edit],
    *,
    protected: Sequence[str],
    allow_noop: bool = False,
    write: bool = True,
) -> EditOutcome:
    """Apply ``edits`` to the files under ``repo_root``, all or nothing; with ``write=False``
    only the dry run: nothing is written and ``EditOutcome.diff`` holds the change.

    ``protected`` holds glob patterns relative to ``repo_root`` (see ``tools.edit.paths``;
    ``default_protected()`` gives the usual set; required, so no caller forgets it).

    Raises ``EditError`` when any block fails, a changed Python file does not parse, or
    (unless ``allow_noop``) the edits change nothing but whitespace and comments ("no-op
    edit"); then nothing has been written. ``OSError`` from writing propagates, after the
    files already replaced are restored.
    """
    root = Path(repo_root)
    run = _DryRun(root, protected)
    if not edits:
        raise EditError([BlockFailure("no edits", "there were no edits to apply")])
    for edit in edits:
        if isinstance(edit, SearchReplace):
            run.run_block(edit.label, edit.path, partial(run.search_replace, edit))
        elif isinstance(edit, FunctionRewrite):
            run.run_block(edit.label, edit.path, partial(run.rewrite, edit))
        else:
            run.patch(edit)
    changed = [f for f in run.files.values() if f.original is None or f.text != f.original.text]
    changed = [f for f in changed if f.exists]
    if run.failures:
        raise EditError(run.failures, run.applied)
    failures = syntax_failures([(f.rel, f.text, f.blocks) for f in changed], run.applied)
    if failures:
        raise EditError(failures, run.applied)
    cosmetic = [
        f.rel
        for f in changed
        if f.original is not None and formatting_only(f.original.text, f.text, f.rel)
    ]
    if not allow_noop and len(cosmetic) == len(changed):
        detail = (
            "the edits leave every file exactly as it was"
            if not changed
            else f"the edits change only whitespace or comments in {', '.join(cosmetic)}"
        )
        raise EditError(
            [
                BlockFailure(
                    "no-op edit",
                    detail,
                    hint="change the code itself; a formatting change cannot make it faster",
                )
            ],
            run.applied,
        )
    notes = list(run.notes)
    notes += [f"{rel}: only whitespace or comments changed" for rel in cosmetic]
    if write:
        write_all(root, [(f.rel, f.original, f.text) for f in changed])
    return EditOutcome(
        applied=tuple(run.applied),
        changed_files=tuple(f.rel for f in changed),
        created_files=tuple(f.rel for f in changed if f.original is None),
        notes=tuple(notes),
        diff=unified_diff([(f.rel, f.original, f.text) for f in changed]),
    )
