"""Static helpers built on the token stream."""

from __future__ import annotations

from stencil.lexer import tokenize
from stencil.tokens import BLOCK_BEGIN, BLOCK_END, NAME, OPERATOR, VAR_BEGIN, VAR_END, Token

KEYWORDS = frozenset(
    {
        "and", "block", "elif", "else", "endblock", "endfor", "endif", "endmacro", "endwith",
        "extends", "false", "for", "if", "import", "in", "include", "is", "macro", "none",
        "not", "or", "set", "true", "with",
    }
)


def _tags(tokens: list[Token]) -> list[tuple[str, list[Token]]]:
    """Group the tokens inside each tag: ``[(begin kind, inner tokens), ...]``."""
    tags: list[tuple[str, list[Token]]] = []
    current: list[Token] | None = None
    for token in tokens:
        if token.kind in (VAR_BEGIN, BLOCK_BEGIN):
            current = []
            tags.append((token.kind, current))
        elif token.kind in (VAR_END, BLOCK_END):
            current = None
        elif current is not None:
            current.append(token)
    return tags


def referenced_variables(source: str) -> list[str]:
    """Names a template reads from its context, in order of first use.

    Attribute names (``user.name``), filter names (``x | upper``), keywords and names the
    template binds itself (``{% for x in ... %}``, ``{% set x = ... %}``) are left out.
    """
    bound: set[str] = set()
    names: list[str] = []
    for begin, inner in _tags(tokenize(source)):
        if begin == BLOCK_BEGIN and len(inner) >= 2 and inner[0].value in ("for", "set"):
            for token in inner[1:]:
                if token.kind == NAME and token.value not in KEYWORDS:
                    bound.add(token.value)
                elif token.value in ("in", "="):
                    break
        previous: Token | None = None
        for token in inner:
            if (
                token.kind == NAME
                and token.value not in KEYWORDS
                and token.value not in bound
                and not (previous and previous.kind == OPERATOR and previous.value in ".|")
                and token.value not in names
            ):
                names.append(token.value)
            previous = token
    return names


def tag_counts(source: str) -> dict[str, int]:
    """How often each statement (``if``, ``for``...) appears, plus ``output`` for ``{{ }}``."""
    counts: dict[str, int] = {}
    for begin, inner in _tags(tokenize(source)):
        key = "output" if begin == VAR_BEGIN else (inner[0].value if inner else "")
        counts[key] = counts.get(key, 0) + 1
    return counts
