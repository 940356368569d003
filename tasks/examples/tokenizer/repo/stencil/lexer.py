"""The template lexer.

A template is plain text with three kinds of tags embedded in it::

    Hello {{ user.name | title }}!            an expression to output
    {% for item in cart.items %}...{% endfor %}   a statement
    {# this is dropped #}                     a comment

:func:`tokenize` returns the text runs as ``text`` tokens and the inside of every tag as
names, numbers, strings and operators, framed by ``var_begin``/``var_end`` or
``block_begin``/``block_end`` tokens. Comments produce no tokens. Whitespace inside tags
is skipped; whitespace in text is kept verbatim.
"""

from __future__ import annotations

import re

from stencil.tokens import (
    BLOCK_BEGIN,
    BLOCK_END,
    NAME,
    NUMBER,
    OPERATOR,
    STRING,
    TEXT,
    VAR_BEGIN,
    VAR_END,
    LexerError,
    Token,
)

# Opening delimiter -> (kind of the opening token, closing delimiter, kind of the closing token).
TAGS: dict[str, tuple[str, str, str]] = {
    "{{": (VAR_BEGIN, "}}", VAR_END),
    "{%": (BLOCK_BEGIN, "%}", BLOCK_END),
}
COMMENT_BEGIN = "{#"
COMMENT_END = "#}"

# What may appear inside a tag, tried in order: the first rule that matches wins.
# A kind of ``None`` means the match is skipped (whitespace).
RULES: list[tuple[str | None, str]] = [
    (None, r"\s+"),
    (NUMBER, r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"),
    (STRING, r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'"),
    (NAME, r"[A-Za-z_][A-Za-z0-9_]*"),
    (OPERATOR, r"==|!=|<=|>=|\*\*|//|[-+*/%<>=!()\[\],.:|~?]"),
]


def tokenize(source: str) -> list[Token]:
    """Split a template into tokens.

    Raises :class:`LexerError` for an unclosed tag or comment, or a character that
    cannot start any token inside a tag.
    """
    tokens: list[Token] = []
    pos, line, col = 0, 1, 1
    text = ""
    text_line, text_col = line, col
    while pos < len(source):
        opener = source[pos : pos + 2]
        if opener in TAGS or opener == COMMENT_BEGIN:
            if text:
                tokens.append(Token(TEXT, text, text_line, text_col))
                text = ""
            if opener == COMMENT_BEGIN:
                pos, line, col = _skip_comment(source, pos, line, col)
            else:
                pos, line, col = _lex_tag(source, pos, line, col, tokens)
            continue
        if not text:
            text_line, text_col = line, col
        char = source[pos]
        text += char
        pos += 1
        if char == "\n":
            line += 1
            col = 1
        else:
            col += 1
    if text:
        tokens.append(Token(TEXT, text, text_line, text_col))
    return tokens


def _advance(value: str, line: int, col: int) -> tuple[int, int]:
    """The line and column just after ``value``, which starts at ``line``/``col``."""
    for char in value:
        if char == "\n":
            line += 1
            col = 1
        else:
            col += 1
    return line, col


def _skip_comment(source: str, pos: int, line: int, col: int) -> tuple[int, int, int]:
    end = source.find(COMMENT_END, pos + 2)
    if end == -1:
        raise LexerError("unclosed comment", line, col)
    end += len(COMMENT_END)
    line, col = _advance(source[pos:end], line, col)
    return end, line, col


def _lex_tag(
    source: str, pos: int, line: int, col: int, tokens: list[Token]
) -> tuple[int, int, int]:
    """Tokenize the tag starting at ``pos``; return the position after its closing delimiter."""
    opener = source[pos : pos + 2]
    begin_kind, closer, end_kind = TAGS[opener]
    start_line, start_col = line, col
    tokens.append(Token(begin_kind, opener, line, col))
    pos += len(opener)
    col += len(opener)
    while True:
        if pos >= len(source):
            raise LexerError(f"unclosed tag, expected {closer!r}", start_line, start_col)
        if source.startswith(closer, pos):
            tokens.append(Token(end_kind, closer, line, col))
            return pos + len(closer), line, col + len(closer)
        for kind, pattern in RULES:
            match = re.match(pattern, source[pos:])
            if match:
                break
        else:
            raise LexerError(f"unexpected character {source[pos]!r}", line, col)
        value = match.group()
        if kind is not None:
            tokens.append(Token(kind, value, line, col))
        line, col = _advance(value, line, col)
        pos += len(value)
