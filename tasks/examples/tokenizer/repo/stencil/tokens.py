"""Token type and errors shared by the lexer and its consumers."""

from __future__ import annotations

from typing import NamedTuple

# Token kinds.
TEXT = "text"
VAR_BEGIN = "var_begin"
VAR_END = "var_end"
BLOCK_BEGIN = "block_begin"
BLOCK_END = "block_end"
NAME = "name"
NUMBER = "number"
STRING = "string"
OPERATOR = "operator"


class Token(NamedTuple):
    """One token; ``line`` and ``col`` are 1-based and point at its first character."""

    kind: str
    value: str
    line: int
    col: int


class LexerError(ValueError):
    """A template that cannot be tokenized; ``line`` and ``col`` locate the problem."""

    def __init__(self, message: str, line: int, col: int) -> None:
        super().__init__(f"line {line}, column {col}: {message}")
        self.reason = message
        self.line = line
        self.col = col
