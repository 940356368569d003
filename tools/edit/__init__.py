"""The code editor: find functions, parse a model's edits, apply them all-or-nothing.

    edits = parse_edits(model_output)       # SEARCH/REPLACE blocks, unified diffs, rewrites
    outcome = apply_edits(tree, edits, protected=default_protected(["bench.py"]))

Choices worth knowing:

- Qualified names are Python's ``__qualname__`` (``Class.method``, ``outer.<locals>.inner``);
  lookups also accept ``outer.inner``.
- Every stage runs in memory first; a failing block does not stop the dry run, so one
  ``EditError`` explains every failure. ``str(exc)`` is one line; ``exc.feedback`` is the
  text for the model (file, block number and first line, why, the closest lines, hints, and
  which blocks would have applied). Nothing is written unless everything passes.
- An empty SEARCH creates the file, or appends to it if it exists.
- An edit set that changes only whitespace/comments raises ``EditError`` with reason
  ``"no-op edit"`` (``allow_noop=True`` applies it and lists it in ``outcome.notes``).
- ``protected`` is required; absolute paths are accepted only when they lie in the repo.

Modules: ``locate`` (functions by line and by name), ``context`` (what to show a model),
``blocks``/``udiff``/``parse`` (parsing), ``match`` (exact → tolerant matching), ``rewrite`` +
``imports`` (libcst function replacement), ``paths`` (protection), ``apply`` + ``checks``
(the stages), ``errors``, ``model`` (the types), ``text``.
"""

from perfagent.tools.edit.apply import apply_edits
from perfagent.tools.edit.context import Callee, FunctionContext, function_context
from perfagent.tools.edit.errors import BlockFailure, EditError, Reason
from perfagent.tools.edit.locate import (
    FunctionInfo,
    clear_cache,
    enclosing_function,
    find_function,
    functions_in,
)
from perfagent.tools.edit.model import (
    AppliedBlock,
    Edit,
    EditOutcome,
    FilePatch,
    FunctionRewrite,
    Hunk,
    SearchReplace,
)
from perfagent.tools.edit.parse import parse_edits
from perfagent.tools.edit.paths import DEFAULT_PROTECTED, default_protected, matches_glob

__all__ = [
    "DEFAULT_PROTECTED",
    "AppliedBlock",
    "BlockFailure",
    "Callee",
    "Edit",
    "EditError",
    "EditOutcome",
    "FilePatch",
    "FunctionContext",
    "FunctionInfo",
    "FunctionRewrite",
    "Hunk",
    "Reason",
    "SearchReplace",
    "apply_edits",
    "clear_cache",
    "default_protected",
    "enclosing_function",
    "find_function",
    "function_context",
    "functions_in",
    "matches_glob",
    "parse_edits",
]
